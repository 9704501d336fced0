package metrics

import (
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Overflow is the label value that stands for every value beyond a
// vector's limit.
const Overflow = "other"

// limiter admits at most max distinct label-value combinations; later ones
// all map to Overflow in every label, so a vector has at most max+1 series.
type limiter struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func newLimiter(max int) *limiter { return &limiter{max: max, seen: make(map[string]struct{})} }

func (l *limiter) admit(values []string) []string {
	k := strings.Join(values, "\xff")
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[k]; ok {
		return values
	}
	if len(l.seen) < l.max {
		l.seen[k] = struct{}{}
		return values
	}
	out := make([]string, len(values))
	for i := range out {
		out[i] = Overflow
	}
	return out
}

func checkSpec(name string, maxSeries int, labels []string) error {
	if name == "" {
		return fmt.Errorf("metrics: empty metric name")
	}
	if maxSeries < 1 && len(labels) > 0 {
		return fmt.Errorf("metrics: %s: maxSeries must be >= 1, got %d", name, maxSeries)
	}
	return nil
}

// Counter is a counter vector with at most maxSeries label combinations.
type Counter struct {
	vec *prometheus.CounterVec
	lim *limiter
}

// NewCounter registers a counter on r. Label values beyond maxSeries
// distinct combinations are counted under Overflow.
func NewCounter(r prometheus.Registerer, name, help string, maxSeries int, labels ...string) (*Counter, error) {
	if err := checkSpec(name, maxSeries, labels); err != nil {
		return nil, err
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	if err := r.Register(vec); err != nil {
		return nil, fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return &Counter{vec: vec, lim: newLimiter(maxSeries)}, nil
}

// Add adds v (>= 0) to the series of values.
func (c *Counter) Add(v float64, values ...string) {
	c.vec.WithLabelValues(c.lim.admit(values)...).Add(v)
}

// Gauge is a gauge vector with at most maxSeries label combinations.
type Gauge struct {
	vec *prometheus.GaugeVec
	lim *limiter
}

// NewGauge registers a gauge on r, bounded like NewCounter.
func NewGauge(r prometheus.Registerer, name, help string, maxSeries int, labels ...string) (*Gauge, error) {
	if err := checkSpec(name, maxSeries, labels); err != nil {
		return nil, err
	}
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	if err := r.Register(vec); err != nil {
		return nil, fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return &Gauge{vec: vec, lim: newLimiter(maxSeries)}, nil
}

// Set sets the series of values to v.
func (g *Gauge) Set(v float64, values ...string) {
	g.vec.WithLabelValues(g.lim.admit(values)...).Set(v)
}

// Histogram is a histogram vector with at most maxSeries label combinations.
type Histogram struct {
	vec *prometheus.HistogramVec
	lim *limiter
}

// NewHistogram registers a histogram on r with buckets (nil: Prometheus's
// defaults), bounded like NewCounter.
func NewHistogram(r prometheus.Registerer, name, help string, buckets []float64, maxSeries int, labels ...string) (*Histogram, error) {
	if err := checkSpec(name, maxSeries, labels); err != nil {
		return nil, err
	}
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	if err := r.Register(vec); err != nil {
		return nil, fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return &Histogram{vec: vec, lim: newLimiter(maxSeries)}, nil
}

// Observe records v in the series of values.
func (h *Histogram) Observe(v float64, values ...string) {
	h.vec.WithLabelValues(h.lim.admit(values)...).Observe(v)
}
