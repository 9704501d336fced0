package ingest

import (
	"errors"
	"fmt"
	"time"

	"contextworker/modules/ingest/admission"
	"contextworker/modules/ingest/critic"
)

// Config is the ingest module's section of temporal.yaml (modules.ingest).
type Config struct {
	// FileRoot is the directory batch dir and jsonl paths are relative
	// to; "" refuses them.
	FileRoot string `yaml:"file_root"`
	// Network is the policy for fetching document URLs.
	Network Network `yaml:"network"`
	// FetchTimeout bounds one URL fetch.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// ChunkSize is how many documents one Chunk activity processes;
	// SubBatch how many it scores and commits together (its checkpoint
	// step); Window how many chunks a batch keeps in flight.
	ChunkSize int `yaml:"chunk_size"`
	SubBatch  int `yaml:"sub_batch"`
	Window    int `yaml:"window"`
	// MaxBatchDocuments bounds what one batch may list.
	MaxBatchDocuments int           `yaml:"max_batch_documents"`
	ChunkTimeout      time.Duration `yaml:"chunk_timeout"`
	HeartbeatTimeout  time.Duration `yaml:"heartbeat_timeout"`
	MaxHistoryEvents  int           `yaml:"max_history_events"`
	// ReviewTimeout is how long an ingest workflow waits for an
	// operator's decision on a quarantined SNO; 0 does not wait.
	ReviewTimeout time.Duration `yaml:"review_timeout"`
	// MaxClaims bounds the claims the rules extractor takes.
	MaxClaims int `yaml:"max_claims"`
	// Preset names the critic weights (default, exploration,
	// verification); Weights, when set, overrides it.
	Preset  string          `yaml:"preset"`
	Weights *critic.Weights `yaml:"weights"`
	// Admission holds the trust threshold and the poisoning defences.
	Admission admission.Config `yaml:"admission"`
}

// Network says which addresses document URLs may reach.
type Network struct {
	AllowLoopback bool `yaml:"allow_loopback"`
	AllowPrivate  bool `yaml:"allow_private"`
}

// DefaultConfig returns the ingest defaults.
func DefaultConfig() *Config {
	return &Config{
		FetchTimeout: 30 * time.Second, ChunkSize: 500, SubBatch: 100, Window: 4,
		MaxBatchDocuments: 1_000_000, ChunkTimeout: 30 * time.Minute, HeartbeatTimeout: 30 * time.Second,
		MaxHistoryEvents: 5000, ReviewTimeout: 24 * time.Hour, MaxClaims: 20, Preset: "default",
		Admission: admission.DefaultConfig(),
	}
}

// CriticWeights returns the configured critic weights.
func (c *Config) CriticWeights() (critic.Weights, error) {
	if c.Weights != nil {
		return *c.Weights, c.Weights.Validate()
	}
	return critic.Preset(c.Preset)
}

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.FetchTimeout <= 0 {
		add("fetch_timeout", "must be > 0, got %s", c.FetchTimeout)
	}
	if c.ChunkSize < 1 || c.ChunkSize > 100_000 {
		add("chunk_size", "must be 1..100000, got %d", c.ChunkSize)
	}
	if c.SubBatch < 1 || c.SubBatch > c.ChunkSize {
		add("sub_batch", "must be 1..chunk_size, got %d", c.SubBatch)
	}
	if c.Window < 1 || c.Window > 64 {
		add("window", "must be 1..64, got %d", c.Window)
	}
	if c.MaxBatchDocuments < 1 {
		add("max_batch_documents", "must be >= 1, got %d", c.MaxBatchDocuments)
	}
	if c.HeartbeatTimeout <= 0 {
		add("heartbeat_timeout", "must be > 0, got %s", c.HeartbeatTimeout)
	}
	if c.ChunkTimeout <= c.HeartbeatTimeout {
		add("chunk_timeout", "must be longer than heartbeat_timeout, got %s", c.ChunkTimeout)
	}
	if c.MaxHistoryEvents != 0 && c.MaxHistoryEvents < 200 {
		add("max_history_events", "must be 0 (server decides) or >= 200, got %d", c.MaxHistoryEvents)
	}
	if c.ReviewTimeout < 0 {
		add("review_timeout", "must be >= 0, got %s", c.ReviewTimeout)
	}
	if c.MaxClaims < 1 || c.MaxClaims > 1000 {
		add("max_claims", "must be 1..1000, got %d", c.MaxClaims)
	}
	if c.Weights != nil {
		if err := c.Weights.Validate(); err != nil {
			add("weights", "%v", err)
		}
	} else if _, err := critic.Preset(c.Preset); err != nil {
		add("preset", "%v", err)
	}
	if err := c.Admission.Validate(); err != nil {
		for _, e := range unjoin(err) {
			errs = append(errs, fmt.Errorf("admission.%w", e))
		}
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
