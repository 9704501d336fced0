package gardener

import (
	"contextworker/internal/dev/metricstest"
	"testing"
)

func TestMetricsCount(t *testing.T) {
	m := metricstest.New(t)
	gm, err := NewMetrics(m.For("gardener"))
	if err != nil {
		t.Fatal(err)
	}
	gm.batch(500, 1200)
	gm.batch(7, 0)
	want := `
# HELP contextworker_gardener_fields_written_total Enriched fields written, counted per committed batch.
# TYPE contextworker_gardener_fields_written_total counter
contextworker_gardener_fields_written_total{module="gardener"} 1200
# HELP contextworker_gardener_products_processed_total Products enriched, counted per committed batch.
# TYPE contextworker_gardener_products_processed_total counter
contextworker_gardener_products_processed_total{module="gardener"} 507
`
	names := []string{"contextworker_gardener_fields_written_total", "contextworker_gardener_products_processed_total"}
	metricstest.Expect(t, m, want, names...)
}

func TestMetricsNil(t *testing.T) {
	gm, err := NewMetrics(nil)
	if err != nil || gm != nil {
		t.Fatalf("NewMetrics(nil) = %v, %v; want nil, nil", gm, err)
	}
	gm.batch(1, 1) // a nil *Metrics records nothing and does not panic
}
