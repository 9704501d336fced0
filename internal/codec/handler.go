package codec

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

// Operations an Authorize hook is asked about.
const (
	OpEncode = "encode"
	OpDecode = "decode"
)

// Errors an Authorize hook returns (wrapped or not): ErrForbidden answers
// 403, a *RateLimitedError 429 with its Retry-After; any other error
// answers 401.
var (
	ErrUnauthenticated = errors.New("authentication required")
	ErrForbidden       = errors.New("forbidden")
)

// RateLimitedError refuses a request for its client's rate: the handler
// answers 429 Too Many Requests, with RetryAfter (seconds, as the header
// carries them) when it is set.
type RateLimitedError struct {
	Message    string
	RetryAfter string
}

func (e *RateLimitedError) Error() string { return e.Message }

// Authorize decides whether r may run op (OpEncode or OpDecode); nil
// allows it. The namespace has been checked against HandlerOptions.Namespaces
// already. The starter plugs its JWT check in here: viewers may decode,
// operators may also encode.
type Authorize func(r *http.Request, op string) error

// AllowAll authorizes every request. Only for a codec server that listens
// on loopback for a single developer.
func AllowAll(*http.Request, string) error { return nil }

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Namespaces served; a request for another answers 404. Empty serves
	// any namespace.
	Namespaces []string
	// CORSOrigins may call from a browser (the Web UI's origin, exactly as
	// the browser sends it: scheme://host[:port]). Requests with any other
	// Origin header are refused.
	CORSOrigins []string
	// MaxBodyBytes bounds a request body (413 beyond).
	MaxBodyBytes int64
	// Authorize is required; use AllowAll deliberately.
	Authorize Authorize
}

// handler serves Temporal's remote codec protocol: POST
// /codec/{namespace}/encode and /decode with a JSON body
// {"payloads":[...]} of proto-JSON payloads (data in base64), answering the
// same shape. The Web UI also sends the namespace in X-Namespace.
type handler struct {
	codec converter.PayloadCodec
	o     HandlerOptions
}

// NewHandler returns the codec HTTP handler; mount it at "/codec/".
func NewHandler(c converter.PayloadCodec, o HandlerOptions) (http.Handler, error) {
	if c == nil {
		return nil, errors.New("codec handler: no codec")
	}
	if o.Authorize == nil {
		return nil, errors.New("codec handler: no Authorize hook (pass codec.AllowAll deliberately for a loopback dev server)")
	}
	if o.MaxBodyBytes <= 0 {
		return nil, fmt.Errorf("codec handler: MaxBodyBytes must be > 0, got %d", o.MaxBodyBytes)
	}
	return &handler{codec: c, o: o}, nil
}

// allowedHeaders are what the Web UI and the CLI send.
const allowedHeaders = "Authorization, Content-Type, X-Namespace"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" {
		if !slices.Contains(h.o.CORSOrigins, origin) {
			httpError(w, http.StatusForbidden, "origin %q is not allowed (temporal.encryption.codec_server.cors_origins)", origin)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Add("Vary", "Origin")
	}
	ns, op, ok := parsePath(r.URL.Path)
	if !ok {
		httpError(w, http.StatusNotFound, "not found: use /codec/{namespace}/encode or /codec/{namespace}/decode")
		return
	}
	if len(h.o.Namespaces) > 0 && !slices.Contains(h.o.Namespaces, ns) {
		httpError(w, http.StatusNotFound, "namespace %q is not served here", ns)
		return
	}
	if hdr := r.Header.Get("X-Namespace"); hdr != "" && hdr != ns {
		httpError(w, http.StatusBadRequest, "X-Namespace %q does not match the path's namespace %q", hdr, ns)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		// A preflight carries no credentials: answer it before auth.
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", allowedHeaders)
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	if err := h.o.Authorize(r, op); err != nil {
		if errors.Is(err, ErrForbidden) {
			httpError(w, http.StatusForbidden, "%s: %v", op, err)
			return
		}
		var limited *RateLimitedError
		if errors.As(err, &limited) {
			if limited.RetryAfter != "" {
				w.Header().Set("Retry-After", limited.RetryAfter)
			}
			httpError(w, http.StatusTooManyRequests, "%s: %v", op, err)
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		httpError(w, http.StatusUnauthorized, "%s: %v", op, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpError(w, http.StatusRequestEntityTooLarge, "body over %d bytes", h.o.MaxBodyBytes)
			return
		}
		httpError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(body, &in); err != nil {
		httpError(w, http.StatusBadRequest, `body is not {"payloads":[...]} in proto JSON: %v`, err)
		return
	}
	var out []*commonpb.Payload
	if op == OpEncode {
		out, err = h.codec.Encode(in.GetPayloads())
	} else {
		out, err = h.codec.Decode(in.GetPayloads())
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, "%s: %v", op, err)
		return
	}
	resp, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%s: marshal: %v", op, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(resp)
}

// parsePath splits /codec/{namespace}/{encode|decode}.
func parsePath(p string) (namespace, op string, ok bool) {
	rest, found := strings.CutPrefix(p, "/codec/")
	if !found {
		return "", "", false
	}
	namespace, op, found = strings.Cut(rest, "/")
	if !found || namespace == "" || (op != OpEncode && op != OpDecode) {
		return "", "", false
	}
	return namespace, op, true
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), code)
}
