package packaging

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	acts "contextworker/activities/harvest"
	"contextworker/internal/codec"
	"contextworker/internal/config"
	_ "contextworker/modules/all" // the production config configures them
	"contextworker/registry"
)

func noEnv(string) (string, bool) { return "", false }

func loadProd(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("temporal.prod.yaml", false, registry.Default(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// credentialNames lists the systemd credentials the production config
// refers to, by the service that resolves them.
func credentialNames(t *testing.T, cfg *config.Config) (worker, starter []string) {
	t.Helper()
	for _, id := range slices.Sorted(mapsKeys(cfg.Temporal.Encryption.Keys)) {
		ref := cfg.Temporal.Encryption.Keys[id]
		if ref.Credential == "" {
			t.Errorf("temporal.encryption.keys.%s = %s; production secrets are credential: refs", id, ref)
		}
		worker = append(worker, ref.Credential)
		starter = append(starter, ref.Credential) // the codec server decrypts
	}
	if c := cfg.Postgres.DSN.Credential; c == "" {
		t.Errorf("postgres.dsn = %s; want a credential: ref", cfg.Postgres.DSN)
	} else {
		worker = append(worker, c)
	}
	if c := cfg.Starter.JWT.HS256Secret.Credential; c == "" {
		t.Errorf("starter.jwt.hs256_secret = %s; want a credential: ref", cfg.Starter.JWT.HS256Secret)
	} else {
		starter = append(starter, c)
	}
	h := cfg.Module("harvest").(*acts.Config)
	for _, s := range h.Suppliers {
		for name, v := range s.Feed.Headers {
			if v.Secret.Credential == "" {
				t.Errorf("supplier %s header %s is not a credential: ref", s.Code, name)
				continue
			}
			worker = append(worker, v.Secret.Credential)
		}
	}
	return worker, starter
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestProdConfig: the production example passes the strict loader with the
// real modules, has encryption and TLS on, reads every secret from a
// systemd credential and fetches no feed from loopback, a private address
// or a file.
func TestProdConfig(t *testing.T) {
	cfg := loadProd(t)
	if !cfg.Temporal.Encryption.Enabled {
		t.Error("payload encryption is off")
	}
	if !cfg.Temporal.TLS.Enabled || cfg.Temporal.TLS.CAFile == "" {
		t.Error("TLS to Temporal is off")
	}
	if cfg.Worker.MetricsAddr == "" {
		t.Error("the worker serves no /metrics")
	}
	for _, o := range cfg.Temporal.Encryption.CodecServer.CORSOrigins {
		if !strings.HasPrefix(o, "https://") {
			t.Errorf("codec CORS origin %s is not https", o)
		}
	}
	h := cfg.Module("harvest").(*acts.Config)
	if h.Network.AllowLoopback || h.Network.AllowPrivate || h.Network.AllowFiles {
		t.Errorf("harvest network policy opens loopback/private/files: %+v", h.Network)
	}
	for _, s := range h.Suppliers {
		u, err := url.Parse(s.Feed.URL)
		if err != nil || u.Scheme != "https" || u.User != nil {
			t.Errorf("supplier %s feed %q: want https without credentials in the URL", s.Code, s.Feed.URL)
			continue
		}
		if host := u.Hostname(); host == "localhost" || net.ParseIP(host) != nil {
			t.Errorf("supplier %s feed host %q is loopback or a bare address", s.Code, host)
		}
	}
	credentialNames(t, cfg)

	// The keys resolve from a credentials directory as systemd lays it out.
	dir := t.TempDir()
	for _, ref := range cfg.Temporal.Encryption.Keys {
		k := make([]byte, codec.KeySize)
		rand.Read(k) //nolint:errcheck // never fails
		if err := os.WriteFile(filepath.Join(dir, ref.Credential), []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	env := func(k string) (string, bool) { return dir, k == "CREDENTIALS_DIRECTORY" }
	if c, err := codec.FromConfig(cfg.Temporal.Encryption, env); err != nil || c == nil {
		t.Fatalf("codec from the production config: %v", err)
	}
}

var units = map[string]bool{"contextworker-worker.service": true, "contextworker-starter.service": true}

// TestUnitsDeclareWhatTheConfigNeeds: each unit loads, encrypted, every
// credential its service resolves, sets its own mTLS identity and carries
// the hardening directives.
func TestUnitsDeclareWhatTheConfigNeeds(t *testing.T) {
	worker, starter := credentialNames(t, loadProd(t))
	need := map[string][]string{"contextworker-worker.service": worker, "contextworker-starter.service": starter}
	hardening := []string{"DynamicUser=yes", "User=contextworker", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
		"ProtectHome=yes", "PrivateDevices=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "UMask=0077"}
	for unit := range units {
		t.Run(unit, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("systemd", unit))
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			for _, c := range need[unit] {
				if !regexp.MustCompile(`(?m)^LoadCredentialEncrypted=` + regexp.QuoteMeta(c) + `:/etc/contextworker/credentials/\S+\.cred$`).MatchString(text) {
					t.Errorf("no LoadCredentialEncrypted=%s:… for the config's credential:%s", c, c)
				}
			}
			if strings.Contains(text, "LoadCredential=") || strings.Contains(text, "SetCredential=") {
				t.Error("plaintext credential directive: use LoadCredentialEncrypted=")
			}
			for _, v := range []string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH=", "TEMPORAL_TLS_SERVER_NAME=", "TEMPORAL_TLS_CLIENT_CERT_PATH=", "TEMPORAL_TLS_CLIENT_KEY_PATH=%d/"} {
				if !strings.Contains(text, "Environment="+v) {
					t.Errorf("unit lacks Environment=%s…", v)
				}
			}
			for _, h := range hardening {
				if !strings.Contains(text, h) {
					t.Errorf("unit lacks %q", strings.TrimSpace(h))
				}
			}
		})
	}
}

// TestSystemdAnalyze runs `systemd-analyze verify` on the units and
// `systemd-analyze security --offline=yes`, whose exposure score must stay
// below 2.0. verify checks that ExecStart's command is executable, so the
// copies it sees point at a stand-in executable of the same name (the
// binaries' names and flags are the Dockerfile's and the docs' business).
func TestSystemdAnalyze(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed on this machine: units not verified")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for unit := range units {
		t.Run(unit, func(t *testing.T) {
			src := filepath.Join("systemd", unit)
			if err := os.Symlink(self, filepath.Join(bin, strings.TrimSuffix(unit, ".service"))); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Replace(string(b), "ExecStart=/usr/local/bin/", "ExecStart="+bin+"/", 1)
			if text == string(b) {
				t.Fatal("ExecStart is not /usr/local/bin/…")
			}
			copyPath := filepath.Join(t.TempDir(), unit)
			if err := os.WriteFile(copyPath, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sa, "verify", copyPath).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Fatalf("systemd-analyze verify %s: %v\n%s", unit, err, out)
			}

			out, err := exec.Command(sa, "security", "--offline=yes", "--no-pager", src).CombinedOutput()
			m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
			score, _ := strconv.ParseFloat(string(m[1]), 64)
			t.Logf("%s exposure %.1f", unit, score)
			if score >= 2.0 {
				t.Fatalf("%s exposure %.1f, want below 2.0\n%s", unit, score, out)
			}
		})
	}
}

// TestDashboardMetricsAreExported: every metric the Grafana dashboard
// queries is one the worker exports, by the names a real scrape recorded in
// worker/testdata/metric_names.txt (worker's TestEncryptedPayloadsAndMetrics
// checks the dashboard against a live scrape too and refreshes the list
// with -update).
func TestDashboardMetricsAreExported(t *testing.T) {
	names, err := DashboardMetricNames(filepath.Join("grafana", "contextworker.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 5 {
		t.Fatalf("dashboard uses only %v", names)
	}
	b, err := os.ReadFile(filepath.Join("..", "worker", "testdata", "metric_names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	exported := strings.Fields(string(b))
	for _, n := range names {
		if !slices.Contains(exported, n) {
			t.Errorf("dashboard uses %s, which the worker does not export", n)
		}
	}
}

func TestDashboardMetricNamesParser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.json")
	doc := `{"panels":[{"targets":[{"expr":"histogram_quantile(0.95, sum by (le, activity_type) (rate(temporal_activity_execution_latency_seconds_bucket{task_queue=\"harvest\"}[5m])))"}]},
	  {"panels":[{"targets":[{"expr":"go_goroutines + contextworker_harvest_rows_total"}]}]}]}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := DashboardMetricNames(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"contextworker_harvest_rows_total", "go_goroutines", "temporal_activity_execution_latency_seconds_bucket"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestComposeConfigLoads: the compose stack's config passes the strict
// loader too, with encryption on and every secret from a compose secret.
func TestComposeConfigLoads(t *testing.T) {
	cfg, err := config.Load(filepath.Join("container", "temporal.compose.yaml"), false, registry.Default(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.Temporal.Encryption.Enabled {
		t.Error("payload encryption is off")
	}
	for what, ref := range map[string]string{
		"postgres.dsn":               cfg.Postgres.DSN.File,
		"starter.jwt.hs256_secret":   cfg.Starter.JWT.HS256Secret.File,
		"temporal.encryption.keys.*": cfg.Temporal.Encryption.Keys[cfg.Temporal.Encryption.CurrentKeyID].File,
	} {
		if !strings.HasPrefix(ref, "/run/secrets/") {
			t.Errorf("%s is not a compose secret file (%q)", what, ref)
		}
	}
}
