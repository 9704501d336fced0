package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"contextworker/internal/config"
	"contextworker/registry"
)

// Options are the starter's dependencies. All but Now are required.
type Options struct {
	// Temporal is a connected client; the starter never closes it.
	Temporal client.Client
	// Registry supplies the workflow types, their input types and task queues.
	Registry *registry.Registry
	// Config is the starter section of temporal.yaml.
	Config config.Starter
	// Namespace is the Temporal namespace Temporal is connected to.
	Namespace string
	// UIBaseURL is the Temporal Web UI, for ui_url links; "" leaves them out.
	UIBaseURL string
	Logger    *slog.Logger
	// Keys verify bearer tokens (see LoadKeySet).
	Keys *KeySet
	// Now is the clock for token and rate checks; nil means time.Now.
	Now func() time.Time
}

// Server is the starter's HTTP service. Create it with New.
type Server struct {
	tc        client.Client
	reg       *registry.Registry
	cfg       config.Starter
	namespace string
	uiBase    string
	publicURL string
	log       *slog.Logger
	auth      *verifier
	limiter   *subjectLimiter
	// failures limits failed authentications per client address.
	failures *subjectLimiter
	metrics  *metrics
	handler  http.Handler
}

// New checks opts and builds the server. It does no I/O.
func New(opts Options) (*Server, error) {
	var errs []error
	if opts.Temporal == nil {
		errs = append(errs, errors.New("no Temporal client"))
	}
	if opts.Registry == nil {
		errs = append(errs, errors.New("no registry"))
	}
	if opts.Namespace == "" {
		errs = append(errs, errors.New("no namespace"))
	}
	if opts.Logger == nil {
		errs = append(errs, errors.New("no logger"))
	}
	if opts.Config.MaxBodyBytes <= 0 || opts.Config.RatePerSecond <= 0 || opts.Config.Burst < 1 || opts.Config.TemporalTimeout <= 0 ||
		opts.Config.AuthFailuresPerSecond <= 0 || opts.Config.AuthFailureBurst < 1 {
		errs = append(errs, errors.New("config: max_body_bytes, rate_per_second, burst, auth_failures_per_second, auth_failure_burst and temporal_timeout must be positive (see config.DefaultStarter)"))
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	v, err := newVerifier(opts.Config.JWT, opts.Keys, now)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new starter: %w", err)
	}
	s := &Server{
		tc:        opts.Temporal,
		reg:       opts.Registry,
		cfg:       opts.Config,
		namespace: opts.Namespace,
		uiBase:    strings.TrimRight(opts.UIBaseURL, "/"),
		publicURL: strings.TrimRight(opts.Config.PublicURL, "/"),
		log:       opts.Logger,
		auth:      v,
		limiter:   newSubjectLimiter(opts.Config.RatePerSecond, opts.Config.Burst, now),
		failures:  newSubjectLimiter(opts.Config.AuthFailuresPerSecond, opts.Config.AuthFailureBurst, now),
		metrics:   newMetrics(),
	}
	s.handler = s.buildHandler()
	return s, nil
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler { return s.handler }

// shutdownGrace is how long Run lets in-flight requests finish.
const shutdownGrace = 10 * time.Second

// Run serves on the configured listen address until ctx is done, then shuts
// down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Every Temporal call is bounded by TemporalTimeout; a status read
		// makes up to three in sequence.
		WriteTimeout:   3*s.cfg.TemporalTimeout + 10*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("starter listening", "addr", ln.Addr().String(), "namespace", s.namespace)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-done // http.ErrServerClosed
	s.log.Info("starter stopped")
	return nil
}

// temporalContext bounds one Temporal call (504 beyond).
func (s *Server) temporalContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.TemporalTimeout)
}

// workflowTypes lists every registered workflow type, sorted.
func (s *Server) workflowTypes() []string {
	var names []string
	for _, m := range s.reg.Modules() {
		for _, wf := range m.Workflows() {
			names = append(names, wf.Name)
		}
	}
	slices.Sort(names)
	return names
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 200 when Temporal answers a health check in time.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ctx, cancel := s.temporalContext(r)
	defer cancel()
	if _, err := s.tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		s.log.Warn("readiness: Temporal is not reachable", "error", err)
		return newError(http.StatusServiceUnavailable, codeTemporalUnavailable, "Temporal is not reachable").because(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *caller) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
