package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"contextworker/internal/secret"
	_ "contextworker/modules/all" // the committed config configures them
	"contextworker/registry"
)

type demoConfig struct {
	BatchSize int `yaml:"batch_size"`
}

func (d *demoConfig) Validate() error {
	if d.BatchSize < 1 {
		return fmt.Errorf("batch_size: must be >= 1, got %d", d.BatchSize)
	}
	return nil
}

type demoModule struct{}

func (demoModule) Name() string                   { return "demo" }
func (demoModule) TaskQueue() string              { return "demo" }
func (demoModule) Workflows() []registry.Workflow { return nil }
func (demoModule) Activities() []string           { return nil }
func (demoModule) Needs() registry.Needs          { return registry.Needs{} }
func (demoModule) NewConfig() any                 { return &demoConfig{BatchSize: 100} }
func (demoModule) Register(context.Context, registry.Deps, worker.Registry) error {
	return nil
}

func testRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := registry.New()
	if err := r.Register(demoModule{}); err != nil {
		t.Fatal(err)
	}
	return r
}

func noEnv(string) (string, bool) { return "", false }

// TestTestdata drives testdata/*.good.yml and *.bad.yml: good files load and
// validate; bad files fail with every listed message.
func TestTestdata(t *testing.T) {
	expectedErrors := map[string][]string{
		"unknown_key.bad.yml":        {`unknown_key.bad.yml:3: unknown key "adress" in temporal (known: address, api_key, config_file, connect_timeout, encryption, namespace, profile, tls, ui_url)`},
		"bad_values.bad.yml":         {`temporal.address: "no-port" is not host:port`, `worker.shutdown_timeout: must be > 0, got -5s`, `log.format: "xml" is not json or text`, `log.level: "loud"`, `postgres.max_conns: must be >= 1, got 0`},
		"wrong_type.bad.yml":         {"line 2", "soon"},
		"literal_secret.bad.yml":     {"is not a reference"},
		"unknown_module.bad.yml":     {`unknown_module.bad.yml:2: modules: unknown module "nope" (known: demo)`},
		"module_unknown_key.bad.yml": {`module_unknown_key.bad.yml:4: unknown key "bacth" in modules.demo (known: batch_size)`},
		"module_invalid.bad.yml":     {"modules.demo.batch_size: must be >= 1, got -1"},
		"observability.bad.yml": {`worker.metrics_addr: "9464" is not host:port`, `worker.tracing.otlp_endpoint: "collector:4318" is not an http(s) URL`,
			"worker.tracing.sample_ratio: must be between 0 and 1, got 2"},
		"encryption.bad.yml": {`encryption.bad.yml:11: unknown key "max_bdy" in temporal.encryption.codec_server`,
			`temporal.encryption.current_key_id: "k3" is not one of the keys (k1, k2)`, `temporal.encryption.codec_server.max_body_bytes: must be > 0, got 0`,
			`"https://ui.example/path" is not an origin`, `"*" is not an origin`},
		// Unknown keys and bad values come out together, in one run.
		"mixed.bad.yml": {`mixed.bad.yml:2: unknown key "adress" in temporal`, "worker.shutdown_timeout: must be > 0",
			`log.format: "xml"`, `mixed.bad.yml:9: unknown key "bacth" in modules.demo`, "modules.demo.batch_size: must be >= 1, got -3"},
	}
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(f, false, testRegistry(t), noEnv)
			if err == nil {
				err = cfg.Validate()
			}
			if strings.HasSuffix(name, ".good.yml") {
				if err != nil {
					t.Fatalf("good config failed: %v", err)
				}
				return
			}
			want, ok := expectedErrors[name]
			if !ok {
				t.Fatalf("bad testdata %s has no expected errors in the table", name)
			}
			if err == nil {
				t.Fatal("bad config loaded without error")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := Load("testdata/bad_values.bad.yml", false, nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := Load("testdata/bad_values.bad.yml", false, nil, noEnv)
	err = cfg.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 5 {
		t.Fatalf("want 5 problems at once, got %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	env := map[string]string{
		"CW_LOG_FORMAT":              "text",
		"CW_WORKER_SHUTDOWN_TIMEOUT": "7s",
		"CW_WORKER_METRICS_ADDR":     "127.0.0.1:9464",
		"TEMPORAL_ADDRESS":           "from-env:7233",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := Load("testdata/minimal.good.yml", false, nil, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "text" || cfg.Worker.ShutdownTimeout != 7*time.Second {
		t.Fatalf("env did not override file/defaults: %+v %+v", cfg.Log, cfg.Worker)
	}
	if cfg.Worker.MetricsAddr != "127.0.0.1:9464" {
		t.Fatalf("CW_WORKER_METRICS_ADDR not applied: %q", cfg.Worker.MetricsAddr)
	}
	if cfg.Temporal.Namespace != "default" {
		t.Fatalf("default namespace lost: %q", cfg.Temporal.Namespace)
	}
	opts, err := cfg.Temporal.ClientOptions(Overrides{}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "from-env:7233" {
		t.Fatalf("TEMPORAL_ADDRESS should beat the file: got %q", opts.HostPort)
	}
	opts, _ = cfg.Temporal.ClientOptions(Overrides{Address: "flag:1", Namespace: "ns"}, lookup)
	if opts.HostPort != "flag:1" || opts.Namespace != "ns" {
		t.Fatalf("flags should beat env: %q %q", opts.HostPort, opts.Namespace)
	}
	delete(env, "TEMPORAL_ADDRESS")
	opts, _ = cfg.Temporal.ClientOptions(Overrides{}, lookup)
	if opts.HostPort != "temporal.example:7233" {
		t.Fatalf("file should beat defaults: %q", opts.HostPort)
	}
}

func TestAPIKeyAndTLS(t *testing.T) {
	cfg := Default()
	cfg.Temporal.APIKey = secret.Env("MY_KEY")
	env := func(k string) (string, bool) {
		if k == "MY_KEY" {
			return "k-123", true
		}
		return "", false
	}
	opts, err := cfg.Temporal.ClientOptions(Overrides{}, env)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil || opts.ConnectionOptions.TLS == nil {
		t.Fatal("API key should set credentials and enable TLS")
	}
	cfg.Temporal.APIKey = secret.Env("MISSING")
	if _, err := cfg.Temporal.ClientOptions(Overrides{}, env); !errors.Is(err, secret.ErrNotSet) {
		t.Fatalf("missing api key: %v", err)
	}
}

func TestCommittedConfigIsValid(t *testing.T) {
	path := filepath.Join("..", "..", DefaultPath)
	if _, err := os.Stat(path); err != nil {
		t.Skip("no committed temporal.yaml yet")
	}
	cfg, err := Load(path, false, registry.Default(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	cfg := Default()
	t.Setenv("DATABASE_URL", "postgres://u:planted-secret-42@h/db")
	dsn, err := cfg.Postgres.DSN.Resolve(nil)
	if err != nil || !strings.Contains(dsn, "planted-secret-42") {
		t.Fatalf("resolve: %q %v", dsn, err)
	}
	logger.Info("config", "postgres", cfg.Postgres, "dsn_ref", cfg.Postgres.DSN)
	if strings.Contains(buf.String(), "planted-secret-42") {
		t.Fatalf("log leaks the secret: %s", buf.String())
	}
}
