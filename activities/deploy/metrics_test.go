package deploy

import (
	"context"
	"contextworker/internal/dev/metricstest"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"contextworker/internal/metrics"
)

func TestMetricsCount(t *testing.T) {
	m := metricstest.New(t)
	dm, err := NewMetrics(m.For("deploy"))
	if err != nil {
		t.Fatal(err)
	}
	dm.step("prepare", false, nil)
	dm.step("prepare", true, nil)
	dm.step("build", false, errors.New("exit 2"))
	dm.step("health", false, fmt.Errorf("health: %w", context.Canceled))
	dm.step("", false, errors.New("no command 9")) // outside the fixed set: "other"
	dm.rollback(nil)
	dm.rollback(errors.New("restart failed"))

	want := map[string]string{
		`contextworker_deploy_steps_total{module="deploy",outcome="succeeded",step="prepare"}`: "1",
		`contextworker_deploy_steps_total{module="deploy",outcome="skipped",step="prepare"}`:   "1",
		`contextworker_deploy_steps_total{module="deploy",outcome="failed",step="build"}`:      "1",
		`contextworker_deploy_steps_total{module="deploy",outcome="canceled",step="health"}`:   "1",
		`contextworker_deploy_steps_total{module="deploy",outcome="other",step="other"}`:       "1",
		`contextworker_deploy_steps_total{module="deploy",outcome="succeeded",step="start"}`:   "0",
		`contextworker_deploy_rollbacks_total{module="deploy",outcome="succeeded"}`:            "1",
		`contextworker_deploy_rollbacks_total{module="deploy",outcome="failed"}`:               "1",
		`contextworker_deploy_rollbacks_total{module="deploy",outcome="canceled"}`:             "0",
	}
	got := scrape(t, m)
	for series, v := range want {
		if !strings.Contains(got, "\n"+series+" "+v+"\n") {
			t.Errorf("want %s %s in the scrape", series, v)
		}
	}
	names := []string{"contextworker_deploy_steps_total", "contextworker_deploy_rollbacks_total"}
	if n, err := testutil.GatherAndCount(m.Registry(), names...); err != nil || n != len(metricSteps)*len(stepOutcomes)+1+len(rollbackStates) {
		t.Errorf("%d series (%v), want the fixed sets and one overflow", n, err)
	}
	metricstest.Listed(t, names...)
}

// scrape is the registry in the text format /metrics serves.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return "\n" + rec.Body.String()
}

func TestMetricsNil(t *testing.T) {
	dm, err := NewMetrics(nil)
	if err != nil || dm != nil {
		t.Fatalf("NewMetrics(nil) = %v, %v; want nil, nil", dm, err)
	}
	dm.step("prepare", false, nil) // records nothing, does not panic
	dm.rollback(nil)
}
