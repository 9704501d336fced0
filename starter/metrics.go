package starter

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the starter's Prometheus metrics, on a registry of the
// server's own (not the global one), so two servers in one process (tests)
// never collide. Label values come from fixed sets (route patterns, status
// codes, registered workflow types), so cardinality stays bounded.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	starts    *prometheus.CounterVec
	authFails *prometheus.CounterVec
	handler   http.Handler
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starter_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code."}, []string{"route", "method", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starter_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"}),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starter_workflow_starts_total",
			Help: "Workflow start requests by workflow type and outcome: accepted (started, or a retry of an earlier start), conflict, error."}, []string{"type", "outcome"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starter_auth_failures_total",
			Help: "Refused requests to /v1 routes by status (401 or 403)."}, []string{"code"}),
	}
	m.reg.MustRegister(m.requests, m.durations, m.starts, m.authFails,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}
