package starter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"contextworker/internal/codec"
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
	// DataConverter encodes and decodes every payload the starter builds or
	// reads (inputs, summaries, signal payloads, query answers, results);
	// nil means converter.GetDefaultDataConverter(). Set it to the
	// workers' converter when payloads are encrypted. Search attributes
	// never pass through it: Temporal indexes them in clear.
	DataConverter converter.DataConverter
	// ModuleConfig returns a module's decoded configuration (what its
	// NewConfig returned, filled from temporal.yaml), for the workflows'
	// Check; nil means no module has configuration (config.Config.Module
	// fits).
	ModuleConfig func(module string) any
	// PageTokenKey keys the MAC of list page tokens; nil draws a random
	// key, so tokens do not survive a restart or cross replicas.
	PageTokenKey []byte
	// Codec, when set, is served as Temporal's remote codec at
	// /codec/{namespace}/encode and /decode (for the Web UI and the
	// temporal CLI's --codec-endpoint): a viewer may decode, an operator
	// may also encode. CodecServer configures it.
	Codec       converter.PayloadCodec
	CodecServer config.CodecServer
	// TLS, when set, serves both fronts over TLS (see ServerTLS); nil
	// serves plaintext.
	TLS *tls.Config
	// Database opens the PostgreSQL pool GET /v1/audit reads, on its first
	// request (within that request's deadline; a failure is answered 503
	// and retried by the next). nil answers every audit request 503.
	Database func(ctx context.Context) (*pgxpool.Pool, error)
	// LookupEnv resolves env: secret refs of webhook secrets; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
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

	dc           converter.DataConverter
	moduleConfig func(module string) any
	// types are the registered workflow types by name; typeNames sorted.
	types     map[string]workflowType
	typeNames []string
	keys      *keyBinder
	runs      *runLimiter
	pages     pageSealer
	ready     readiness
	// codec serves /codec/ when payloads are encrypted; nil otherwise.
	codec http.Handler
	// tls wraps every listener when set.
	tls *tls.Config
	// db is the audit's database; hookLimiter limits webhook requests per
	// client address; lookupEnv resolves webhook secrets.
	db          *lazyPool
	hookLimiter *subjectLimiter
	lookupEnv   func(string) (string, bool)
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
	if err := opts.Config.ValidateLimits("starter"); err != nil {
		errs = append(errs, fmt.Errorf("config: %w", err))
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
	dc := opts.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	moduleConfig := opts.ModuleConfig
	if moduleConfig == nil {
		moduleConfig = func(string) any { return nil }
	}
	s := &Server{
		dc:           dc,
		moduleConfig: moduleConfig,
		types:        make(map[string]workflowType),
		keys:         newKeyBinder(now),
		runs:         newRunLimiter(opts.Temporal, opts.Namespace, opts.Config.MaxRunningOf, now),
		pages:        newPageSealer(opts.PageTokenKey),
		ready:        readiness{now: now},
		tc:           opts.Temporal,
		reg:          opts.Registry,
		cfg:          opts.Config,
		namespace:    opts.Namespace,
		uiBase:       strings.TrimRight(opts.UIBaseURL, "/"),
		publicURL:    strings.TrimRight(opts.Config.PublicURL, "/"),
		log:          opts.Logger,
		auth:         v,
		limiter:      newSubjectLimiter(opts.Config.RatePerSecond, opts.Config.Burst, now),
		failures:     newSubjectLimiter(opts.Config.AuthFailuresPerSecond, opts.Config.AuthFailureBurst, now),
		metrics:      newMetrics(),
		db:           newLazyPool(opts.Database),
		hookLimiter:  newSubjectLimiter(opts.Config.RatePerSecond, opts.Config.Burst, now),
		lookupEnv:    opts.LookupEnv,
	}
	if s.lookupEnv == nil {
		s.lookupEnv = os.LookupEnv
	}
	for _, m := range opts.Registry.Modules() {
		for _, wf := range m.Workflows() {
			s.types[wf.Name] = workflowType{module: m, wf: wf}
			s.typeNames = append(s.typeNames, wf.Name)
		}
	}
	slices.Sort(s.typeNames)
	if opts.Codec != nil {
		if opts.CodecServer.AnonymousDecodeOnLoopback && !loopbackOnly(opts.Config.Listen) {
			return nil, fmt.Errorf("new starter: temporal.encryption.codec_server.anonymous_decode_on_loopback needs a loopback starter.listen, got %q", opts.Config.Listen)
		}
		h, err := codec.NewHandler(opts.Codec, codec.HandlerOptions{
			Namespaces:   []string{opts.Namespace},
			CORSOrigins:  opts.CodecServer.CORSOrigins,
			MaxBodyBytes: opts.CodecServer.MaxBodyBytes,
			Authorize:    s.codecAuthorize(opts.CodecServer.AnonymousDecodeOnLoopback),
		})
		if err != nil {
			return nil, fmt.Errorf("new starter: %w", err)
		}
		s.codec = h
	}
	s.tls = opts.TLS
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
	ln, err := s.listen(s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// listen opens addr, over TLS when the server has it.
func (s *Server) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || s.tls == nil {
		return ln, err
	}
	return tls.NewListener(ln, s.tls), nil
}

// Serve serves on ln until ctx is done. It closes ln. ln is used as it is:
// Run and the gRPC pairing open TLS listeners when the server has TLS.
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
	s.log.Info("starter listening", "addr", ln.Addr().String(), "namespace", s.namespace, "tls", s.tls != nil)
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

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyCacheTTL is how long a readiness answer is reused: /readyz is
// public and unlimited, and must not turn into a call to Temporal per hit.
const readyCacheTTL = time.Second

// readiness caches the last readiness check.
type readiness struct {
	now func() time.Time
	mu  sync.Mutex
	at  time.Time
	err error
}

// readyz answers 200 when Temporal answers in time and the namespace
// exists, 503 otherwise; answers are cached for readyCacheTTL.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	if err := s.checkReady(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// checkReady returns the cached readiness, checking again once it is
// older than readyCacheTTL. Concurrent callers wait for one check.
func (s *Server) checkReady() error {
	r := &s.ready
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); !r.at.IsZero() && now.Sub(r.at) < readyCacheTTL {
		return r.err
	}
	// Not the request's context: the answer serves every caller.
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.TemporalTimeout)
	defer cancel()
	_, err := s.tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
	var nf *serviceerror.NamespaceNotFound
	var nf2 *serviceerror.NotFound
	switch {
	case err == nil:
		r.err = nil
	case errors.As(err, &nf) || errors.As(err, &nf2):
		s.log.Warn("readiness: the namespace does not exist", "namespace", s.namespace)
		r.err = newError(http.StatusServiceUnavailable, codeNotReady, "the Temporal namespace %q does not exist", s.namespace).because(err)
	default:
		s.log.Warn("readiness: Temporal is not reachable", "error", err)
		ae := asAPIError(err)
		if ae.status < 500 || ae.status == http.StatusInternalServerError {
			ae = newError(http.StatusServiceUnavailable, codeTemporalUnavailable, "Temporal is not reachable").because(err)
		}
		r.err = ae
	}
	r.at = r.now()
	return r.err
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *caller) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
