package ingest

import (
	"contextworker/internal/dev/metricstest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"contextworker/internal/metrics"
	"contextworker/modules/ingest/admission"
	wf "contextworker/workflows/ingest"
)

func TestMetricsCount(t *testing.T) {
	m := metricstest.New(t)
	im, err := NewMetrics(m.For("ingest"))
	if err != nil {
		t.Fatal(err)
	}
	im.decided([]wf.Outcome{
		{Status: wf.StatusAdmitted},
		{Status: wf.StatusAdmitted},
		{Status: wf.StatusQuarantined, Reasons: []string{string(admission.LowTrust), string(admission.RateLimited)}},
		{Status: wf.StatusQuarantined, Reasons: []string{string(admission.LowTrust)}},
		{Status: wf.StatusQuarantined, Reasons: []string{"made_up_code"}}, // folded into "other"
		{Status: wf.StatusDuplicate},
	})
	for _, c := range []struct {
		name  string
		label string
		want  float64
	}{
		{"admitted", `outcome="admitted"`, 2},
		{"quarantined", `outcome="quarantined"`, 3},
		{"duplicate", `outcome="duplicate"`, 1},
		{"low trust", `reason="low_trust"`, 2},
		{"rate limited", `reason="rate_limited"`, 1},
		{"unknown reason", `reason="other"`, 1},
		{"no reason seen", `reason="binary"`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sample(t, m, c.label); got != c.want {
				t.Errorf("%s = %v, want %v", c.label, got, c.want)
			}
		})
	}
	names := []string{"contextworker_ingest_documents_total", "contextworker_ingest_quarantine_reasons_total"}
	if n, err := testutil.GatherAndCount(m.Registry(), names...); err != nil || n != len(documentOutcomes)+len(quarantineReasons)+1 {
		t.Errorf("%d series (%v), want the fixed sets and one overflow", n, err)
	}
	metricstest.Listed(t, names...)
}

// sample returns the value of the one ingest series whose labels include
// label.
func sample(t *testing.T, m *metrics.Metrics, label string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "contextworker_ingest_") {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName()+`="`+l.GetValue()+`"` == label {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series with %s", label)
	return 0
}

func TestMetricsNil(t *testing.T) {
	im, err := NewMetrics(nil)
	if err != nil || im != nil {
		t.Fatalf("NewMetrics(nil) = %v, %v; want nil, nil", im, err)
	}
	im.decided([]wf.Outcome{{Status: wf.StatusAdmitted}}) // records nothing, does not panic
}
