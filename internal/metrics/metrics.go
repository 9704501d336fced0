// Package metrics holds the worker's Prometheus metrics: the Temporal SDK's
// own (through the SDK's tally contrib and tally's Prometheus reporter), Go
// runtime and process metrics, and the app's metrics, which modules register
// with bounded label sets (see Counter, Gauge, Histogram). One registry
// serves them all on /metrics.
//
// It must never take a label value from unbounded input (a SKU, a URL, a
// workflow id): that would grow the registry without limit. The bounded
// vectors here fold label values beyond their limit into "other".
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// AppPrefix starts the name of every app metric.
const AppPrefix = "contextworker_"

// reportInterval is how often tally hands SDK metrics to Prometheus.
const reportInterval = time.Second

// Metrics is the process's metric registry.
type Metrics struct {
	registry *prometheus.Registry
	scope    tally.Scope
	closer   io.Closer
}

// New builds the registry with Go and process collectors and the SDK's
// tally scope. Register-time errors of SDK metrics are logged, never fatal.
func New(logger *slog.Logger) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer: reg,
		// SDK latencies as histograms, so dashboards can aggregate them
		// across workers (summaries cannot be).
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Warn("metrics: register SDK metric", "error", err.Error())
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, reportInterval)
	return &Metrics{registry: reg, scope: sdktally.NewPrometheusNamingScope(scope), closer: closer}
}

// SDKHandler is the MetricsHandler for the Temporal client's options.
func (m *Metrics) SDKHandler() client.MetricsHandler { return sdktally.NewMetricsHandler(m.scope) }

// Registry is where app metrics are registered; Gatherer for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// For returns the registerer a module registers its metrics with: names get
// AppPrefix and every series the label module=<name>.
func (m *Metrics) For(module string) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"module": module},
		prometheus.WrapRegistererWithPrefix(AppPrefix, m.registry))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Close flushes and stops the SDK scope.
func (m *Metrics) Close() error { return m.closer.Close() }

// Serve listens on addr and serves /metrics until ctx is done. A listen
// failure is returned at once, so a misconfigured address stops the worker
// at start rather than leaving it unobserved. It returns the bound address
// (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return ln.Addr(), nil
}
