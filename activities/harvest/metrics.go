package harvest

import (
	"github.com/prometheus/client_golang/prometheus"

	"contextworker/internal/metrics"
	wf "contextworker/workflows/harvest"
)

// runStatuses are the statuses a run finishes with: the only values of the
// runs counter's status label.
var runStatuses = []string{wf.StatusSucceeded, wf.StatusUnchanged, wf.StatusFailed, wf.StatusCanceled}

// Metrics are the harvest module's own metrics. A nil *Metrics records
// nothing (the worker serves no metrics). Labels hold fixed sets only: never
// a tenant, supplier, SKU or run id.
type Metrics struct {
	rowsRead *metrics.Counter
	rows     *metrics.Counter
	runs     *metrics.Counter
}

// NewMetrics registers the metrics on r, or returns nil when r is nil.
// Every series of the fixed label sets starts at zero, so rates are
// defined before the first run.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	m := &Metrics{}
	var err error
	if m.rowsRead, err = metrics.NewCounter(r, "harvest_rows_read_total", "Feed rows read by Stage, counted per committed batch.", 1); err != nil {
		return nil, err
	}
	if m.rows, err = metrics.NewCounter(r, "harvest_rows_total", "Feed rows staged per committed batch, by outcome (valid, rejected).", 2, "outcome"); err != nil {
		return nil, err
	}
	if m.runs, err = metrics.NewCounter(r, "harvest_runs_total", "Harvest runs finished, by status.", len(runStatuses), "status"); err != nil {
		return nil, err
	}
	m.rowsRead.Add(0)
	m.rows.Add(0, "valid")
	m.rows.Add(0, "rejected")
	for _, s := range runStatuses {
		m.runs.Add(0, s)
	}
	return m, nil
}

// batch counts a committed batch's rows.
func (m *Metrics) batch(valid, rejected int64) {
	if m == nil {
		return
	}
	m.rowsRead.Add(float64(valid + rejected))
	m.rows.Add(float64(valid), "valid")
	m.rows.Add(float64(rejected), "rejected")
}

// finished counts a run that Finish recorded with status. The fixed set
// fills the counter's series limit at registration, so any other status
// counts as metrics.Overflow.
func (m *Metrics) finished(status string) {
	if m == nil {
		return
	}
	m.runs.Add(1, status)
}
