package grpcfront

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCodeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		apiCode string
		want    codes.Code
	}{
		{"bad request", http.StatusBadRequest, "invalid_input", codes.InvalidArgument},
		{"unsupported media", http.StatusUnsupportedMediaType, "unsupported_media_type", codes.InvalidArgument},
		{"no token", http.StatusUnauthorized, "unauthenticated", codes.Unauthenticated},
		{"role", http.StatusForbidden, "forbidden", codes.PermissionDenied},
		{"unknown or other tenant's", http.StatusNotFound, "not_found", codes.NotFound},
		{"already running", http.StatusConflict, "already_running", codes.AlreadyExists},
		{"idempotency conflict", http.StatusConflict, "idempotency_conflict", codes.AlreadyExists},
		{"not running", http.StatusConflict, "not_running", codes.FailedPrecondition},
		{"body too large", http.StatusRequestEntityTooLarge, "payload_too_large", codes.ResourceExhausted},
		{"rate limited", http.StatusTooManyRequests, "rate_limited", codes.ResourceExhausted},
		{"client went away", 499, "client_closed_request", codes.Canceled},
		{"temporal unavailable", http.StatusServiceUnavailable, "temporal_unavailable", codes.Unavailable},
		{"temporal timeout", http.StatusGatewayTimeout, "temporal_timeout", codes.DeadlineExceeded},
		{"internal", http.StatusInternalServerError, "internal", codes.Internal},
		{"method not allowed", http.StatusMethodNotAllowed, "method_not_allowed", codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := codeOf(tt.status, tt.apiCode); got != tt.want {
				t.Errorf("codeOf(%d, %q) = %s, want %s", tt.status, tt.apiCode, got, tt.want)
			}
		})
	}
}

// detailsOf splits a status's details by type.
func detailsOf(t *testing.T, st *status.Status) (info *errdetails.ErrorInfo, br *errdetails.BadRequest, retry *errdetails.RetryInfo) {
	t.Helper()
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	return info, br, retry
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	t.Run("invalid input names the payload's fields", func(t *testing.T) {
		t.Parallel()
		r := &reply{status: 400, header: http.Header{"X-Request-Id": {"req-1"}}, body: []byte(
			`{"error":{"code":"invalid_input","message":"input.note: required; type: required","details":{"fields":[{"field":"input.note","problem":"required"},{"field":"type","problem":"required"}]}}}`)}
		st := statusOf(r, startField)
		if st.Code() != codes.InvalidArgument || st.Message() != "note: required; workflow_type: required" {
			t.Fatalf("status %s %q", st.Code(), st.Message())
		}
		info, br, retry := detailsOf(t, st)
		if info.GetReason() != "invalid_input" || info.GetDomain() != errorDomain || info.GetMetadata()["request_id"] != "req-1" {
			t.Errorf("error info %v", info)
		}
		if len(br.GetFieldViolations()) != 2 || br.GetFieldViolations()[0].GetField() != "note" || br.GetFieldViolations()[1].GetField() != "workflow_type" {
			t.Errorf("field violations %v", br.GetFieldViolations())
		}
		if retry != nil {
			t.Errorf("retry info %v on a 400", retry)
		}
	})
	t.Run("rate limit carries the retry delay", func(t *testing.T) {
		t.Parallel()
		r := &reply{status: 429, header: http.Header{"Retry-After": {"3"}}, body: []byte(`{"error":{"code":"too_many_runs","message":"too many open runs"}}`)}
		st := statusOf(r, nil)
		_, br, retry := detailsOf(t, st)
		if st.Code() != codes.ResourceExhausted || st.Message() != "too many open runs" || br != nil {
			t.Fatalf("status %s %q, bad request %v", st.Code(), st.Message(), br)
		}
		if retry.GetRetryDelay().AsDuration() != 3*time.Second {
			t.Errorf("retry info %v, want 3s", retry)
		}
	})
	t.Run("an answer that is not the envelope is internal", func(t *testing.T) {
		t.Parallel()
		st := statusOf(&reply{status: 502, header: http.Header{}, body: []byte("<html>bad gateway</html>")}, nil)
		info, _, _ := detailsOf(t, st)
		if st.Code() != codes.Internal || st.Message() != "Bad Gateway" || info.GetReason() != "internal" {
			t.Errorf("status %s %q, info %v", st.Code(), st.Message(), info)
		}
	})
}

func TestStartField(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"type":                   "workflow_type",
		"input":                  "payload",
		"input.note":             "note",
		"input.suppliers[0].url": "suppliers[0].url",
		"id":                     "id",
		"inputs":                 "inputs",
	} {
		if got := startField(in); got != want {
			t.Errorf("startField(%q) = %q, want %q", in, got, want)
		}
	}
}
