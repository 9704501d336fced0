package gardener

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"contextworker/internal/metrics"
)

func TestMetricsCount(t *testing.T) {
	m := metrics.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { _ = m.Close() })
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
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	checkListed(t, names)
}

func TestMetricsNil(t *testing.T) {
	gm, err := NewMetrics(nil)
	if err != nil || gm != nil {
		t.Fatalf("NewMetrics(nil) = %v, %v; want nil, nil", gm, err)
	}
	gm.batch(1, 1) // a nil *Metrics records nothing and does not panic
}

// checkListed: the names are in worker/testdata/metric_names.txt, which
// the dashboard test checks the Grafana dashboard against.
func checkListed(t *testing.T, names []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "worker", "testdata", "metric_names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Fields(string(b))
	for _, n := range names {
		if !slices.Contains(listed, n) {
			t.Errorf("%s is missing from worker/testdata/metric_names.txt", n)
		}
	}
}
