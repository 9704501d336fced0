package harvest_test

import (
	"strings"
	"testing"
	"time"

	acts "contextworker/activities/harvest"
	"contextworker/internal/config"
	"contextworker/modules/harvest"
	"contextworker/registry"
)

// TestTuningDecodesInline: the run settings are declared once
// (workflows/harvest.Tuning, embedded in the config inline) and still read
// from modules.harvest directly, with strict checking of their keys.
func TestTuningDecodesInline(t *testing.T) {
	reg := registry.New()
	if err := reg.Register(harvest.Module{}); err != nil {
		t.Fatal(err)
	}
	yml := "modules:\n  harvest:\n    partitions: 3\n    parallelism: 2\n    approval_timeout: 5m\n    chain_gardener: false\n    batch_size: 500\n"
	cfg, err := config.Parse("t.yaml", []byte(yml), reg)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	hc := cfg.Module("harvest").(*acts.Config)
	if hc.Partitions != 3 || hc.Parallelism != 2 || hc.ApprovalTimeout != 5*time.Minute || hc.ChainGardener || hc.BatchSize != 500 {
		t.Errorf("decoded %+v", hc.Tuning)
	}
	if hc.MaxHistoryEvents != acts.DefaultConfig().MaxHistoryEvents {
		t.Errorf("an unset tuning field lost its default: max_history_events = %d", hc.MaxHistoryEvents)
	}
	bad, err := config.Parse("t.yaml", []byte("modules:\n  harvest:\n    partitons: 3\n"), reg)
	if err == nil {
		err = bad.Validate() // Parse collects problems; Validate reports them all
	}
	if err == nil || !strings.Contains(err.Error(), `t.yaml:3: unknown key "partitons"`) {
		t.Errorf("a misspelt tuning key: %v", err)
	}
}
