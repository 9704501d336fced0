package grpcfront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// traceHeader is starter.TraceHeader, which the starter logs; the front
// cannot import the starter, which serves it (a test checks the two agree).
const traceHeader = "X-Trace-Id"

// reply is the starter's HTTP answer to one RPC.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call is one in-process HTTP request to the starter's handler.
type call struct {
	method, path string
	// body is marshalled as JSON; nil sends none.
	body any
	// idempotencyKey is sent as Idempotency-Key when not "".
	idempotencyKey string
	traceID        string
}

// do serves c through the starter's handler with the caller's credentials
// and address from ctx, within the front's deadline.
func (s *Service) do(ctx context.Context, c call) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", c.method, c.path, err)
		}
	}
	// The URL is only a path: the handler routes on it and never dials.
	r, err := http.NewRequestWithContext(ctx, c.method, "http://grpcfront.invalid"+c.path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", c.method, c.path, err)
	}
	r.RequestURI = c.path
	r.ContentLength = int64(len(body))
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	// Every value is passed on: the starter refuses more than one, as it
	// does over HTTP.
	for _, v := range md.Get("authorization") {
		r.Header.Add("Authorization", v)
	}
	if c.idempotencyKey != "" {
		r.Header.Set("Idempotency-Key", c.idempotencyKey)
	}
	if c.traceID != "" {
		r.Header.Set(traceHeader, c.traceID)
	}
	// The peer address keys the per-address limits (failed
	// authentications), as the TCP peer does for REST.
	r.RemoteAddr = "0.0.0.0:0"
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		r.RemoteAddr = p.Addr.String()
	}
	w := newRecorder(s.maxAnswer)
	s.handler.ServeHTTP(w, r)
	if w.overflow {
		return nil, errAnswerTooLarge
	}
	return &reply{status: w.statusCode(), header: w.header, body: w.buf.Bytes()}, nil
}

// errAnswerTooLarge is an answer beyond Options.MaxAnswerBytes.
var errAnswerTooLarge = errors.New("the answer is larger than the gRPC front's limit")

// recorder is the ResponseWriter of an in-process request: it keeps the
// status, headers and at most max bytes of body.
type recorder struct {
	header   http.Header
	status   int
	buf      bytes.Buffer
	max      int
	overflow bool
}

func newRecorder(max int) *recorder { return &recorder{header: make(http.Header), max: max} }

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.buf.Len()+len(b) > w.max {
		w.overflow = true
		return 0, errAnswerTooLarge
	}
	return w.buf.Write(b)
}

func (w *recorder) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// retryAfter is the answer's Retry-After in seconds, or 0.
func (r *reply) retryAfter() int {
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
