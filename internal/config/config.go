// Package config loads temporal.yaml, the platform's one configuration file.
//
// Precedence is flags > environment > file > defaults: Load applies the file
// over Default() and then the environment; the CLI applies its flags last
// and calls Validate. Decoding is strict: an unknown key is an error naming
// the key, its path and its line, and validation reports every problem at
// once. Secrets are never read from the file, only secret.Refs to them.
//
// The Temporal connection follows the Temporal convention (TEMPORAL_* env
// vars and temporal.toml profiles, see ClientOptions) so the worker, the
// starter and the temporal CLI share one profile.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"contextworker/internal/secret"
	"contextworker/registry"
)

// DefaultPath is where the binaries look for the config file.
const DefaultPath = "temporal.yaml"

// Config is the whole of temporal.yaml.
type Config struct {
	Temporal Temporal `yaml:"temporal"`
	Worker   Worker   `yaml:"worker"`
	Postgres Postgres `yaml:"postgres"`
	Log      Log      `yaml:"log"`
	Starter  Starter  `yaml:"starter"`
	// Modules holds each module's own section, decoded by LoadModules into
	// the module's NewConfig type.
	Modules map[string]yaml.Node `yaml:"modules"`

	file        string
	decoded     map[string]any
	moduleLines map[string]int
	// problems found while decoding (unknown keys, wrong types); Validate
	// reports them with everything else, so one run shows every problem.
	problems []error
}

// Temporal configures the connection to the Temporal service. Address and
// namespace here are defaults beneath the TEMPORAL_* environment and the
// temporal.toml profile.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	// Profile names the temporal.toml profile; "" means $TEMPORAL_PROFILE
	// or "default".
	Profile string `yaml:"profile"`
	// ConfigFile is the temporal.toml path; "" means $TEMPORAL_CONFIG_FILE
	// or the OS default location.
	ConfigFile string `yaml:"config_file"`
	// APIKey is a secret reference; env TEMPORAL_API_KEY wins over it.
	APIKey secret.Ref `yaml:"api_key"`
	TLS    TLS        `yaml:"tls"`
	// UIURL is the Web UI base URL used in printed links.
	UIURL string `yaml:"ui_url"`
	// ConnectTimeout bounds how long a binary keeps retrying an unreachable
	// Temporal at start before it exits non-zero.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Encryption configures payload encryption and the codec server.
	Encryption Encryption `yaml:"encryption"`
}

// TLS configures TLS or mTLS to Temporal. The TEMPORAL_TLS_* variables and
// the temporal.toml profile win over it.
type TLS struct {
	Enabled    bool   `yaml:"enabled"`
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// Worker configures Temporal workers.
type Worker struct {
	// ShutdownTimeout is how long running activities may take to finish
	// after SIGINT/SIGTERM before the worker exits anyway.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxConcurrentActivities per task queue; 0 means the SDK default.
	MaxConcurrentActivities int `yaml:"max_concurrent_activities"`
	// MaxConcurrentWorkflowTasks per task queue; 0 means the SDK default.
	MaxConcurrentWorkflowTasks int `yaml:"max_concurrent_workflow_tasks"`
	// MemoryLimitMiB is the Go runtime's soft memory limit and GCPercent
	// its GC target: with a limit, the collector can run less often while
	// the heap is small (a harvest's garbage is short-lived) and harder as
	// the heap nears the limit. 0 leaves Go's default; $GOMEMLIMIT and $GOGC
	// win over both.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	GCPercent      int `yaml:"gc_percent"`
	// MetricsAddr is where the worker serves Prometheus /metrics (the SDK's
	// metrics, Go runtime and the app's own); "" serves none.
	MetricsAddr string `yaml:"metrics_addr"`
	// Tracing exports OpenTelemetry spans of workflows and activities.
	Tracing Tracing `yaml:"tracing"`
}

// Tracing configures OpenTelemetry tracing through the Temporal SDK's
// interceptor: spans for workflow and activity runs (linked across
// processes through Temporal headers) and TraceID/SpanID on their log lines.
type Tracing struct {
	Enabled bool `yaml:"enabled"`
	// OTLPEndpoint is the OTLP/HTTP traces URL
	// (http://collector:4318/v1/traces); "" leaves it to the standard
	// OTEL_EXPORTER_OTLP_* environment (default http://localhost:4318).
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// SampleRatio of new traces kept (0..1); a span whose parent was
	// sampled is always kept.
	SampleRatio float64 `yaml:"sample_ratio"`
}

// Postgres configures the database used by modules that need one.
type Postgres struct {
	// DSN is a secret reference to the connection string.
	DSN            secret.Ref    `yaml:"dsn"`
	MaxConns       int32         `yaml:"max_conns"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// Log configures the process logger.
type Log struct {
	Format string `yaml:"format"` // json or text
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// Default returns the built-in defaults, which suit the local dev stack.
func Default() *Config {
	return &Config{
		Temporal: Temporal{
			Address:        "127.0.0.1:7233",
			Namespace:      "default",
			UIURL:          "http://localhost:8233",
			ConnectTimeout: time.Minute,
			Encryption:     DefaultEncryption(),
		},
		Worker:   Worker{ShutdownTimeout: 30 * time.Second, MemoryLimitMiB: 160, GCPercent: 200, Tracing: Tracing{SampleRatio: 1}},
		Postgres: Postgres{DSN: secret.Env("DATABASE_URL"), MaxConns: 16, ConnectTimeout: time.Minute},
		Log:      Log{Format: "json", Level: "info"},
		Starter:  DefaultStarter(),
	}
}

// Load reads the config at path over Default(), then applies the
// environment (see ApplyEnv). A missing file is an error unless allowMissing,
// in which case the defaults are used. Module sections are decoded for the
// modules in reg. Unknown keys, unknown module sections and values of the
// wrong type are kept and reported by Validate together with every other
// problem; only unreadable or syntactically broken YAML fails here. Apply
// flags, then call Validate.
func Load(path string, allowMissing bool, reg *registry.Registry, env secret.Lookup) (*Config, error) {
	cfg := Default()
	cfg.file = path
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && allowMissing:
		cfg.file = "(defaults)"
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	default:
		if err := cfg.decode(path, data); err != nil {
			return nil, err
		}
	}
	if err := cfg.ApplyEnv(env); err != nil {
		return nil, err
	}
	if reg != nil {
		if err := cfg.loadModules(reg); err != nil {
			cfg.problems = append(cfg.problems, err)
		}
	}
	return cfg, nil
}

// Parse decodes YAML bytes over Default(); name labels error messages. It
// applies no environment.
func Parse(name string, data []byte, reg *registry.Registry) (*Config, error) {
	cfg := Default()
	cfg.file = name
	if err := cfg.decode(name, data); err != nil {
		return nil, err
	}
	if reg != nil {
		if err := cfg.loadModules(reg); err != nil {
			cfg.problems = append(cfg.problems, err)
		}
	}
	return cfg, nil
}

func (c *Config) decode(name string, data []byte) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file means all defaults
		}
		return fmt.Errorf("config: %s: %w", name, cleanYAMLError(err))
	}
	if err := decodeStrict(name, &doc, c, ""); err != nil {
		c.problems = append(c.problems, err)
	}
	c.moduleLines = moduleKeyLines(&doc)
	return nil
}

// moduleKeyLines finds the line of each key under modules:, for errors.
func moduleKeyLines(doc *yaml.Node) map[string]int {
	lines := make(map[string]int)
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	top := doc.Content[0].Content
	for i := 0; i+1 < len(top); i += 2 {
		if top[i].Value != "modules" || top[i+1].Kind != yaml.MappingNode {
			continue
		}
		mods := top[i+1].Content
		for j := 0; j+1 < len(mods); j += 2 {
			lines[mods[j].Value] = mods[j].Line
		}
	}
	return lines
}

// File is the path the config was read from.
func (c *Config) File() string { return c.file }

// loadModules decodes each modules.<name> section into that module's config
// type; modules without a section get their defaults.
func (c *Config) loadModules(reg *registry.Registry) error {
	c.decoded = make(map[string]any)
	var errs []error
	for name := range c.Modules {
		if _, err := reg.Lookup(name); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: modules: %w", c.file, c.moduleLines[name], err))
		}
	}
	for _, m := range reg.Modules() {
		mc := m.NewConfig()
		if mc == nil {
			if n, ok := c.Modules[m.Name()]; ok && n.Kind != 0 && len(n.Content) > 0 {
				errs = append(errs, fmt.Errorf("%s:%d: modules.%s: module takes no configuration", c.file, n.Line, m.Name()))
			}
			continue
		}
		if n, ok := c.Modules[m.Name()]; ok {
			if err := decodeStrict(c.file, &n, mc, "modules."+m.Name()); err != nil {
				errs = append(errs, err) // still validated below, for one full report
			}
		}
		c.decoded[m.Name()] = mc
	}
	return joinErrs(errs)
}

// Module returns the decoded config of the named module (a pointer of the
// module's NewConfig type), or nil.
func (c *Config) Module(name string) any { return c.decoded[name] }
