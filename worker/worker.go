// Package worker runs Temporal workers for a selection of modules: one SDK
// worker per task queue, all in one process, with bounded-retry connection
// to Temporal and PostgreSQL and graceful shutdown. It holds no module logic.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"contextworker/internal/codec"
	"contextworker/internal/config"
	"contextworker/internal/logging"
	"contextworker/internal/metrics"
	"contextworker/internal/pg"
	"contextworker/registry"
)

// Options are what Run needs.
type Options struct {
	Config    *config.Config
	Overrides config.Overrides
	Modules   []registry.Module
	Logger    *slog.Logger
	// Env looks up environment variables; nil means the process environment.
	Env func(string) (string, bool)
	// Ready, when set, is called once every worker is polling.
	Ready func()

	// spanExporter replaces the OTLP exporter in tests.
	spanExporter sdktrace.SpanExporter
}

// Run connects, registers the modules and polls until ctx is done. Then it
// stops polling and gives running activities up to the configured
// worker.shutdown_timeout to finish before it returns.
//
// With temporal.encryption enabled every payload the worker writes is
// encrypted (see internal/codec); with worker.metrics_addr set it serves
// Prometheus /metrics there.
func Run(ctx context.Context, o Options) error {
	if len(o.Modules) == 0 {
		return errors.New("no modules selected")
	}
	cfg, logger := o.Config, o.Logger
	tuneRuntime(cfg.Worker, os.Getenv, logger)
	if addr := os.Getenv(PprofEnv); addr != "" {
		servePprof(ctx, addr, logger)
	}
	m := metrics.New(logger)
	defer m.Close() //nolint:errcheck // flushing on exit; nothing to do with an error
	if addr := cfg.Worker.MetricsAddr; addr != "" {
		if _, err := metrics.Serve(ctx, addr, m.Handler(), logger); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
	}
	cdc, err := codec.FromConfig(cfg.Temporal.Encryption, o.Env)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	var tracing interceptor.ClientInterceptor
	if cfg.Worker.Tracing.Enabled {
		ti, shutdown, err := newTracing(ctx, cfg.Worker.Tracing, o.spanExporter)
		if err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		// Deferred before the workers stop, so it runs after them: the
		// last spans are flushed.
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(sctx); err != nil {
				logger.Warn("tracing: flushing spans", "error", err.Error())
			}
		}()
		tracing = ti
	}
	tlsOn := false
	c, ns, err := DialTemporal(ctx, cfg.Temporal, o.Overrides, o.Env, logger, func(opts *client.Options) {
		codec.Apply(opts, cdc)
		opts.MetricsHandler = m.SDKHandler()
		if tracing != nil {
			// A client interceptor that is also a worker interceptor (as
			// this one is) applies to the workers built on the client.
			opts.Interceptors = append(opts.Interceptors, tracing)
		}
		tlsOn = opts.ConnectionOptions.TLS != nil
	})
	if err != nil {
		return err
	}
	defer c.Close()
	logger.Info("connected to temporal", "namespace", ns, "payload_encryption", cdc != nil, "tls", tlsOn, "tracing", tracing != nil)

	res, err := Provision(ctx, o, c, ns)
	if err != nil {
		return err
	}
	res.metrics = m
	defer res.Close()

	workers := make(map[string]sdkworker.Worker)
	for _, q := range registry.TaskQueues(o.Modules) {
		var names []string
		for _, m := range o.Modules {
			if m.TaskQueue() == q {
				names = append(names, m.Name())
			}
		}
		workers[q] = sdkworker.New(c, q, sdkworker.Options{
			WorkerStopTimeout:                      cfg.Worker.ShutdownTimeout,
			MaxConcurrentActivityExecutionSize:     cfg.Worker.MaxConcurrentActivities,
			MaxConcurrentWorkflowTaskExecutionSize: cfg.Worker.MaxConcurrentWorkflowTasks,
			Interceptors:                           []interceptor.WorkerInterceptor{&moduleTagger{module: strings.Join(names, ",")}},
		})
	}
	for _, m := range o.Modules {
		if err := m.Register(ctx, res.Deps(m), workers[m.TaskQueue()]); err != nil {
			return fmt.Errorf("register module %q: %w", m.Name(), err)
		}
	}
	for _, m := range o.Modules {
		if s, ok := m.(registry.Syncer); ok {
			if err := s.Sync(ctx, res.Deps(m)); err != nil {
				return fmt.Errorf("sync module %q: %w", m.Name(), err)
			}
		}
	}
	var started []sdkworker.Worker
	defer func() {
		// Stop stops polling, then waits up to WorkerStopTimeout for running
		// activities before cancelling their contexts.
		for _, w := range started {
			w.Stop()
		}
		logger.Info("worker stopped")
	}()
	for _, q := range registry.TaskQueues(o.Modules) {
		if err := workers[q].Start(); err != nil {
			return fmt.Errorf("start task queue %q: %w", q, err)
		}
		started = append(started, workers[q])
		logger.Info("polling task queue", "task_queue", q)
	}
	if o.Ready != nil {
		o.Ready()
	}
	<-ctx.Done()
	logger.Info("shutting down: stopping pollers, letting running activities finish", "timeout", cfg.Worker.ShutdownTimeout.String())
	return nil
}

// DialTemporal connects to Temporal, retrying with backoff for at most
// t.ConnectTimeout. The error names the address it could not reach.
// It also returns the namespace it connected to. Each adjust function may
// change the client options before dialing (data converter, metrics).
func DialTemporal(ctx context.Context, t config.Temporal, o config.Overrides, env func(string) (string, bool), logger *slog.Logger, adjust ...func(*client.Options)) (client.Client, string, error) {
	opts, err := t.ClientOptions(o, env)
	if err != nil {
		return nil, "", err
	}
	for _, a := range adjust {
		a(&opts)
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	opts.Logger = logging.Temporal(logger)
	deadline := time.Now().Add(t.ConnectTimeout)
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(dctx, opts)
		cancel()
		if err == nil {
			return c, opts.Namespace, nil
		}
		if ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return nil, "", fmt.Errorf("temporal: could not reach %s (namespace %q) within %s (%d attempts): %w", opts.HostPort, opts.Namespace, t.ConnectTimeout, attempt, err)
		}
		logger.Warn("temporal not reachable yet, retrying", "address", opts.HostPort, "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Resources are the shared dependencies opened for a set of modules.
type Resources struct {
	cfg    *config.Config
	logger *slog.Logger
	client client.Client
	ns     string
	db     *pgxpool.Pool
	mods   []registry.Module
	// metrics is the process registry; modules get their share through
	// Metrics(m) until registry.Deps carries it.
	metrics *metrics.Metrics
}

// Provision opens what the modules need (PostgreSQL when any module asks).
func Provision(ctx context.Context, o Options, c client.Client, namespace string) (*Resources, error) {
	r := &Resources{cfg: o.Config, logger: o.Logger, client: c, ns: namespace, mods: o.Modules}
	for _, m := range o.Modules {
		if !m.Needs().Postgres {
			continue
		}
		db, err := OpenPostgres(ctx, o.Config, o.Env, o.Logger)
		if err != nil {
			return nil, err
		}
		r.db = db
		break
	}
	return r, nil
}

// OpenPostgres resolves the DSN secret and connects with bounded retry.
func OpenPostgres(ctx context.Context, cfg *config.Config, env func(string) (string, bool), logger *slog.Logger) (*pgxpool.Pool, error) {
	dsn, err := cfg.Postgres.DSN.Resolve(env)
	if err != nil {
		return nil, fmt.Errorf("postgres: dsn: %w", err)
	}
	return pg.Connect(ctx, dsn, cfg.Postgres.MaxConns, cfg.Postgres.ConnectTimeout, logger)
}

// Deps returns the dependencies handed to module m.
func (r *Resources) Deps(m registry.Module) registry.Deps {
	d := registry.Deps{
		Logger:    r.logger.With("module", m.Name()),
		Temporal:  r.client,
		Config:    r.cfg.Module(m.Name()),
		UIBaseURL: r.cfg.Temporal.UIURL,
		Namespace: r.ns,
	}
	if m.Needs().Postgres {
		d.DB = r.db
	}
	return d
}

// Metrics returns the registerer for module m's own metrics (names
// prefixed contextworker_, label module=<name>), or nil outside Run.
func (r *Resources) Metrics(m registry.Module) prometheus.Registerer {
	if r.metrics == nil {
		return nil
	}
	return r.metrics.For(m.Name())
}

// Close releases the resources and closes modules that hold any.
func (r *Resources) Close() {
	for _, m := range r.mods {
		if c, ok := m.(registry.Closer); ok {
			if err := c.Close(); err != nil {
				r.logger.Warn("closing module", "module", m.Name(), "error", err.Error())
			}
		}
	}
	if r.db != nil {
		r.db.Close()
	}
}
