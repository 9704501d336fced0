package gardener

import (
	"github.com/prometheus/client_golang/prometheus"

	"contextworker/internal/metrics"
)

// Metrics are the gardener module's own metrics. A nil *Metrics records
// nothing (the worker serves no metrics). They carry no labels of their
// own: never a tenant, supplier or SKU.
type Metrics struct {
	processed *metrics.Counter
	written   *metrics.Counter
}

// NewMetrics registers the metrics on r, or returns nil when r is nil.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	m := &Metrics{}
	var err error
	if m.processed, err = metrics.NewCounter(r, "gardener_products_processed_total", "Products enriched, counted per committed batch.", 1); err != nil {
		return nil, err
	}
	if m.written, err = metrics.NewCounter(r, "gardener_fields_written_total", "Enriched fields written, counted per committed batch.", 1); err != nil {
		return nil, err
	}
	m.processed.Add(0)
	m.written.Add(0)
	return m, nil
}

// batch counts a committed batch.
func (m *Metrics) batch(processed, written int64) {
	if m == nil {
		return
	}
	m.processed.Add(float64(processed))
	m.written.Add(float64(written))
}
