package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"
)

// Error codes of the {"error":{"code",…}} envelope. They are part of the API.
const (
	codeBadRequest          = "bad_request"
	codeInvalidInput        = "invalid_input"
	codeUnauthenticated     = "unauthenticated"
	codeForbidden           = "forbidden"
	codeNotFound            = "not_found"
	codeMethodNotAllowed    = "method_not_allowed"
	codeConflict            = "conflict"
	codeAlreadyRunning      = "already_running"
	codeIdempotencyConflict = "idempotency_conflict"
	codeNotRunning          = "not_running"
	codePayloadTooLarge     = "payload_too_large"
	codeUnsupportedMedia    = "unsupported_media_type"
	codeRateLimited         = "rate_limited"
	codeTemporalTimeout     = "temporal_timeout"
	codeTemporalUnavailable = "temporal_unavailable"
	codeInternal            = "internal"
	codeTooManyRuns         = "too_many_runs"
	codeNotReady            = "not_ready"
	codeDatabaseUnavailable = "database_unavailable"
)

// apiError is an error answer. Message and details are shown to the client;
// cause is only logged.
type apiError struct {
	status  int
	code    string
	message string
	details any
	cause   error
	// header holds extra response headers (Retry-After, WWW-Authenticate).
	header http.Header
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.status, e.code, e.message, e.cause)
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

func (e *apiError) Unwrap() error { return e.cause }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codeBadRequest, format, args...)
}

// notFound is the one answer for unknown workflows and other tenants'
// workflows alike: the two must be indistinguishable.
func notFound(id string) *apiError {
	return newError(http.StatusNotFound, codeNotFound, "workflow %q not found", id)
}

func (e *apiError) with(details any) *apiError {
	e.details = details
	return e
}

func (e *apiError) withHeader(k, v string) *apiError {
	if e.header == nil {
		e.header = make(http.Header)
	}
	e.header.Set(k, v)
	return e
}

func (e *apiError) because(err error) *apiError {
	e.cause = err
	return e
}

// errorBody is the JSON envelope of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// asAPIError turns any handler error into the answer the client gets.
// Temporal's own messages are not passed on: they can name internal hosts,
// namespaces or search attributes.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var (
		unavailable *serviceerror.Unavailable
		exhausted   *serviceerror.ResourceExhausted
		deadline    *serviceerror.DeadlineExceeded
		canceled    *serviceerror.Canceled
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline):
		return newError(http.StatusGatewayTimeout, codeTemporalTimeout, "Temporal did not answer in time").because(err)
	case errors.As(err, &unavailable):
		return newError(http.StatusServiceUnavailable, codeTemporalUnavailable, "Temporal is unavailable, retry later").
			withHeader("Retry-After", "1").because(err)
	case errors.As(err, &exhausted):
		return newError(http.StatusServiceUnavailable, codeTemporalUnavailable, "Temporal is overloaded, retry later").
			withHeader("Retry-After", "1").because(err)
	case errors.Is(err, context.Canceled) || errors.As(err, &canceled):
		// The client went away; nobody reads this answer. 499 is the
		// conventional (nginx) code for it in logs and metrics.
		return newError(499, "client_closed_request", "request canceled").because(err)
	}
	return newError(http.StatusInternalServerError, codeInternal, "internal error").because(err)
}

// writeError writes the envelope for err. requestID is echoed in the details
// of internal errors so an operator can find the logged cause.
func writeError(w http.ResponseWriter, err error, requestID string) *apiError {
	ae := asAPIError(err)
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	body := errorBody{Error: errorDetail{Code: ae.code, Message: ae.message, Details: ae.details}}
	if ae.status >= 500 && ae.details == nil {
		body.Error.Details = map[string]string{"request_id": requestID}
	}
	writeJSON(w, ae.status, body)
	return ae
}

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // an API answer, never HTML: keep "<" readable
	if err := enc.Encode(v); err != nil {
		// Only our own response types get here; they always marshal.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// retryAfter formats a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}
