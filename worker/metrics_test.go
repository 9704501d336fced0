package worker

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"contextworker/packaging"
)

var update = flag.Bool("update", false, "rewrite testdata/metric_names.txt from a real scrape")

var sdkMetricsWanted = []string{
	"temporal_request_total",
	"temporal_workflow_completed_total",
	"temporal_activity_execution_latency_seconds_bucket",
	"temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
}

// scrapeMetrics polls /metrics until the SDK's metrics of the run are
// there (tally reports every second), then checks the dashboard's names
// against the scrape and keeps testdata/metric_names.txt in step.
func scrapeMetrics(ctx context.Context, t *testing.T, addr string) {
	t.Helper()
	var names map[string]bool
	waitFor(ctx, t, "SDK metrics on /metrics", func() bool {
		names = scrapeNames(t, "http://"+addr+"/metrics")
		for _, n := range sdkMetricsWanted {
			if !names[n] {
				return false
			}
		}
		return true
	})
	for _, n := range dashboardMetricNames(t) {
		if !names[n] {
			t.Errorf("the Grafana dashboard uses %s, which the worker does not export", n)
		}
	}
	golden := filepath.Join("testdata", "metric_names.txt")
	var sorted []string
	for n := range names {
		if strings.HasPrefix(n, "temporal_") || strings.HasPrefix(n, "go_") || strings.HasPrefix(n, "process_") || strings.HasPrefix(n, "contextworker_") {
			sorted = append(sorted, n)
		}
	}
	slices.Sort(sorted)
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(sorted, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	// Some series appear only on some paths (replays, evictions), so a name
	// missing here is noted, not failed; the dashboard's names are checked
	// strictly above.
	for _, n := range strings.Fields(string(want)) {
		if !names[n] {
			t.Logf("%s is in %s but not in this scrape", n, golden)
		}
	}
}

var seriesName = regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]`)

func scrapeNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", url, resp.StatusCode, err)
	}
	names := make(map[string]bool)
	for _, m := range seriesName.FindAllStringSubmatch(string(body), -1) {
		names[m[1]] = true
	}
	return names
}

// dashboardMetricNames reads the metric names the Grafana dashboard's
// queries use.
func dashboardMetricNames(t *testing.T) []string {
	t.Helper()
	names, err := packaging.DashboardMetricNames(filepath.Join("..", "packaging", "grafana", "contextworker.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Log("no dashboard yet")
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("dashboard uses no metric")
	}
	return names
}
