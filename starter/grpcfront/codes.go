package grpcfront

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// errorDomain is the ErrorInfo domain of every error the front answers.
const errorDomain = "contextworker.starter"

// codeOf maps the starter's HTTP status (and its error code, for 409) to
// the gRPC code with the same meaning.
func codeOf(httpStatus int, apiCode string) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		// A run that is not running cannot be acted on; every other
		// conflict is an id or key that already names something else.
		if apiCode == "not_running" {
			return codes.FailedPrecondition
		}
		return codes.AlreadyExists
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case 499: // the starter's "client closed request"
		return codes.Canceled
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

// apiError is the starter's {"error":{code,message,details}} envelope.
type apiError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

// fieldProblem is one entry of an invalid_input answer's details.fields.
type fieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// statusOf turns an error answer into a gRPC status: the starter's message,
// its code as ErrorInfo's reason, the named fields (renamed by rename, when
// given) as BadRequest violations, and Retry-After as RetryInfo.
func statusOf(r *reply, rename func(string) string) *status.Status {
	var env struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error.Code == "" {
		env.Error = apiError{Code: "internal", Message: http.StatusText(r.status)}
	}
	e := env.Error
	var details []protoadapt.MessageV1
	info := &errdetails.ErrorInfo{Reason: e.Code, Domain: errorDomain, Metadata: map[string]string{}}
	if id := r.header.Get("X-Request-Id"); id != "" {
		info.Metadata["request_id"] = id
	}
	details = append(details, info)
	var d struct {
		Fields []fieldProblem `json:"fields"`
	}
	if len(e.Details) > 0 && json.Unmarshal(e.Details, &d) == nil && len(d.Fields) > 0 {
		br := &errdetails.BadRequest{}
		msgs := make([]string, len(d.Fields))
		for i, f := range d.Fields {
			if rename != nil {
				f.Field = rename(f.Field)
			}
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Problem})
			msgs[i] = f.Field + ": " + f.Problem
		}
		e.Message = strings.Join(msgs, "; ")
		details = append(details, br)
	}
	if n := r.retryAfter(); n > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(n) * time.Second)})
	}
	st := status.New(codeOf(r.status, e.Code), e.Message)
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return st
}
