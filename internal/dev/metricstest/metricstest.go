// Package metricstest helps modules test their app metrics: a fresh
// metrics registry per test, a comparison of what it gathers, and a check
// that each name is listed in worker/testdata/metric_names.txt (the list
// the Grafana dashboard is checked against). Test tooling only.
package metricstest

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"contextworker/internal/dev/testenv"
	"contextworker/internal/metrics"
)

// New returns a fresh metrics registry, closed at the test's cleanup.
func New(t testing.TB) *metrics.Metrics {
	t.Helper()
	m := metrics.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// Expect compares what m gathers for names with want (the Prometheus text
// format), and checks that each name is listed for the dashboard test.
func Expect(t testing.TB, m *metrics.Metrics, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	Listed(t, names...)
}

// Listed checks that each metric name is in worker/testdata/metric_names.txt.
func Listed(t testing.TB, names ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "worker", "testdata", "metric_names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Fields(string(b))
	for _, n := range names {
		if !slices.Contains(listed, n) {
			t.Errorf("%s is missing from worker/testdata/metric_names.txt (refresh it with go test ./worker -update)", n)
		}
	}
}
