package harvest

import (
	"contextworker/internal/dev/metricstest"
	"testing"

	wf "contextworker/workflows/harvest"
)

func TestMetricsCount(t *testing.T) {
	m := metricstest.New(t)
	hm, err := NewMetrics(m.For("harvest"))
	if err != nil {
		t.Fatal(err)
	}
	hm.batch(90, 10)
	hm.batch(5, 0)
	hm.finished(wf.StatusSucceeded)
	hm.finished(wf.StatusFailed)
	hm.finished("bogus") // not in the fixed set: folded into "other"
	want := `
# HELP contextworker_harvest_rows_read_total Feed rows read by Stage, counted per committed batch.
# TYPE contextworker_harvest_rows_read_total counter
contextworker_harvest_rows_read_total{module="harvest"} 105
# HELP contextworker_harvest_rows_total Feed rows staged per committed batch, by outcome (valid, rejected).
# TYPE contextworker_harvest_rows_total counter
contextworker_harvest_rows_total{module="harvest",outcome="rejected"} 10
contextworker_harvest_rows_total{module="harvest",outcome="valid"} 95
# HELP contextworker_harvest_runs_total Harvest runs finished, by status.
# TYPE contextworker_harvest_runs_total counter
contextworker_harvest_runs_total{module="harvest",status="canceled"} 0
contextworker_harvest_runs_total{module="harvest",status="failed"} 1
contextworker_harvest_runs_total{module="harvest",status="other"} 1
contextworker_harvest_runs_total{module="harvest",status="succeeded"} 1
contextworker_harvest_runs_total{module="harvest",status="unchanged"} 0
`
	names := []string{"contextworker_harvest_rows_read_total", "contextworker_harvest_rows_total", "contextworker_harvest_runs_total"}
	metricstest.Expect(t, m, want, names...)
}

func TestMetricsNil(t *testing.T) {
	hm, err := NewMetrics(nil)
	if err != nil || hm != nil {
		t.Fatalf("NewMetrics(nil) = %v, %v; want nil, nil", hm, err)
	}
	hm.batch(1, 1) // a nil *Metrics records nothing and does not panic
	hm.finished(wf.StatusSucceeded)
}
