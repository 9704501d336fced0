package starter

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// TraceHeader carries a caller's trace id (the gRPC front sets it from a
// ContextUnit's trace_id); the request's log line names it.
const TraceHeader = "X-Trace-Id"

// traceIDPattern is what a logged trace id may look like: anything else is
// left out of the log rather than trusted into it.
var traceIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// route is one endpoint. need is the least role it takes; public routes
// take no token.
type route struct {
	method string
	path   string
	need   role
	handle func(w http.ResponseWriter, r *http.Request, c *caller) error
}

// pattern is the http.ServeMux pattern, also the route's metrics label.
func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes is the whole API. openapi.json must describe exactly these; a
// test checks it.
func (s *Server) routes() []route {
	return []route{
		{http.MethodPost, "/v1/workflows", operator, s.start},
		{http.MethodGet, "/v1/workflows", viewer, s.list},
		{http.MethodGet, "/v1/workflows/{id}", viewer, s.status},
		{http.MethodPost, "/v1/workflows/{id}/cancel", operator, s.cancel},
		{http.MethodPost, "/v1/workflows/{id}/signals/{name}", operator, s.signal},
		{http.MethodPost, "/v1/ingest", operator, s.ingest},
		{http.MethodPost, "/v1/execute", admin, s.execute},
		{http.MethodGet, "/v1/audit", operator, s.audit},
		{http.MethodPost, "/v1/hooks/git", public, s.gitHook},
		{http.MethodPost, "/v1/schedules/sync", admin, s.syncSchedules},
		{http.MethodGet, "/healthz", public, s.healthz},
		{http.MethodGet, "/readyz", public, s.readyz},
		{http.MethodGet, "/metrics", public, s.serveMetrics},
		{http.MethodGet, "/openapi.json", public, s.openapi},
	}
}

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern(), s.wrap(rt))
	}
	unmatched := s.wrap(route{path: "unmatched", handle: func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		return muxError(mux, r)
	}})
	if s.codec != nil {
		mux.Handle("/codec/", s.codec)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux answers unknown paths and methods in plain text; ours
		// answer in the JSON envelope like every other error.
		if _, pattern := mux.Handler(r); pattern == "" {
			unmatched.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// muxError turns the mux's own answer for r (404 or 405 with Allow) into
// an API error.
func muxError(mux *http.ServeMux, r *http.Request) error {
	h, _ := mux.Handler(r)
	probe := &headerProbe{header: make(http.Header)}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		return newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method %s is not allowed here", r.Method).
			withHeader("Allow", probe.header.Get("Allow"))
	}
	return newError(http.StatusNotFound, codeNotFound, "no such route; see /openapi.json")
}

// headerProbe records what a handler answers without sending it.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// wrap runs rt with authentication, authorization, rate limiting, error
// answers, panic recovery, metrics and one log line per request.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		rec := &recorder{ResponseWriter: w}
		reqID := randomRequestID()
		w.Header().Set("X-Request-Id", reqID)
		var c *caller
		var err error
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = fmt.Errorf("panic: %v", p)
				if !rec.wrote {
					writeError(rec, err, reqID)
				}
			}
			s.observe(rt, r, rec, c, err, reqID, time.Since(began))
		}()
		c, err = s.admit(r, rt)
		if err == nil {
			err = rt.handle(rec, r, c)
		}
		if err != nil && !rec.wrote {
			writeError(rec, err, reqID)
		}
	})
}

// admit authenticates, authorizes and rate-limits a request to rt.
func (s *Server) admit(r *http.Request, rt route) (*caller, error) {
	if rt.need == public {
		return nil, nil
	}
	// Every token is verified: its size is capped (maxTokenBytes) and the
	// request rate per address is the client's own limit. An address that
	// keeps failing to authenticate gets 429 instead of 401 for its
	// failures, which slows guessing; a valid token from the same address
	// (behind a proxy or NAT, every client shares it) still gets through.
	c, err := s.auth.authenticate(r)
	if err != nil {
		if limited := s.failures.allow(clientAddr(r)); limited != nil {
			s.metrics.authFails.WithLabelValues("429").Inc()
			return nil, limited.because(err)
		}
		s.metrics.authFails.WithLabelValues("401").Inc()
		return nil, err
	}
	if err := authorize(c, rt.need); err != nil {
		s.metrics.authFails.WithLabelValues("403").Inc()
		return c, err
	}
	// Limited per tenant and subject: a subject name is only unique within
	// its issuer's tenant.
	if err := s.limiter.allow(c.Tenant + "/" + c.Subject); err != nil {
		return c, err
	}
	return c, nil
}

// clientAddr is the host of the request's remote address.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// observe records metrics and logs the request, every one at info (5xx at
// error), with the cause of an error.
func (s *Server) observe(rt route, r *http.Request, rec *recorder, c *caller, err error, reqID string, took time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	label := rt.pattern()
	if rt.method == "" {
		label = rt.path
	}
	s.metrics.requests.WithLabelValues(label, methodLabel(r.Method), strconv.Itoa(status)).Inc()
	s.metrics.durations.WithLabelValues(label).Observe(took.Seconds())

	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", reqID),
		slog.String("method", methodLabel(r.Method)),
		slog.String("route", label),
		slog.Int("status", status),
		slog.String("took", roundDuration(took).String()),
	}
	if c != nil {
		attrs = append(attrs, slog.String("sub", c.Subject), slog.String("tenant", c.Tenant))
	}
	if trace := r.Header.Get(TraceHeader); traceIDPattern.MatchString(trace) {
		attrs = append(attrs, slog.String("trace_id", trace))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// methodLabel is r.Method when it is a standard method, else "other": a
// label, and a log field, must come from a fixed set, or any client could
// create Prometheus series at will.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// roundDuration rounds d for a log line, as the worker writes them:
// "97.3ms", "412µs", "2.5s".
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
