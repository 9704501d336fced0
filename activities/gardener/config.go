package gardener

import (
	"errors"
	"fmt"
	"time"

	"contextworker/modules/gardener/enrich"
	_ "contextworker/modules/gardener/enrich/all" // the built-in enrichers
)

// Config is the gardener module's section of temporal.yaml (modules.gardener).
type Config struct {
	// BatchSize is the number of products read, enriched and written per
	// transaction: the checkpoint granularity.
	BatchSize int `yaml:"batch_size"`
	// BatchesPerActivity bounds one Enrich activity (so does half of
	// EnrichTimeout); the workflow then calls it again (and continues as
	// new when history grows long). Each call fills the activity's
	// pipeline anew: at 1M products, 100 batches a call took the batches
	// 14.9 s against 17.8 s at 20 (bin/bench -gardener-set). Progress
	// shows live in the activity's heartbeat details meanwhile.
	BatchesPerActivity int           `yaml:"batches_per_activity"`
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout"`
	EnrichTimeout      time.Duration `yaml:"enrich_timeout"`
	// WatermarkOverlap re-reads products changed this long before the
	// last watermark: a harvest transaction that began before the
	// watermark was taken may commit after it. Rereading writes nothing.
	WatermarkOverlap time.Duration `yaml:"watermark_overlap"`
	MaxHistoryEvents int           `yaml:"max_history_events"`
	// ChangeLogRetention keeps the harvest change log (product_changes)
	// at most this long, even for a scope that has not run since: its
	// next incremental run then walks products instead. 0 keeps entries
	// until every scope of the tenant has run past them.
	ChangeLogRetention time.Duration `yaml:"change_log_retention"`
	// Enrichers run in this order; omitted, DefaultEnrichers.
	Enrichers []enrich.Spec `yaml:"enrichers"`
}

// DefaultEnrichers are the enrichers run when the config lists none: those
// that need no tenant data (category needs a taxonomy; llm is opt-in).
func DefaultEnrichers() []enrich.Spec {
	return []enrich.Spec{{Name: "brand"}, {Name: "attributes"}, {Name: "duplicates"}, {Name: "quality"}}
}

// DefaultConfig returns the gardener defaults.
func DefaultConfig() *Config {
	return &Config{
		BatchSize:          5000,
		BatchesPerActivity: 100,
		HeartbeatTimeout:   30 * time.Second,
		EnrichTimeout:      2 * time.Hour,
		WatermarkOverlap:   time.Hour,
		MaxHistoryEvents:   5000,
		ChangeLogRetention: 30 * 24 * time.Hour,
	}
}

// Specs returns the configured enrichers, or the defaults.
func (c *Config) Specs() []enrich.Spec {
	if c.Enrichers == nil {
		return DefaultEnrichers()
	}
	return c.Enrichers
}

// Validate reports every problem, each naming its field. It builds the
// enrichers, so their rules and taxonomy files are checked too.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		add("batch_size", "must be 1..100000, got %d", c.BatchSize)
	}
	if c.BatchesPerActivity < 1 {
		add("batches_per_activity", "must be >= 1, got %d", c.BatchesPerActivity)
	}
	if c.HeartbeatTimeout <= 0 {
		add("heartbeat_timeout", "must be > 0, got %s", c.HeartbeatTimeout)
	}
	if c.EnrichTimeout <= c.HeartbeatTimeout {
		add("enrich_timeout", "must be longer than heartbeat_timeout, got %s", c.EnrichTimeout)
	}
	if c.WatermarkOverlap < 0 {
		add("watermark_overlap", "must be >= 0, got %s", c.WatermarkOverlap)
	}
	if c.ChangeLogRetention < 0 {
		add("change_log_retention", "must be >= 0, got %s", c.ChangeLogRetention)
	}
	if c.MaxHistoryEvents != 0 && c.MaxHistoryEvents < 200 {
		add("max_history_events", "must be 0 (server decides) or >= 200, got %d", c.MaxHistoryEvents)
	}
	if _, err := enrich.Default().Build(c.Specs(), enrich.Deps{}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
