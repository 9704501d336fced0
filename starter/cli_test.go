package starter

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"contextworker/internal/config"
)

// runApp runs the starter CLI with args and returns its stdout.
func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := App(testRegistry(t))
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"starter"}, args...))
	return out.String(), err
}

// writeConfig writes a temporal.yaml whose HS256 secret is in a file.
func writeConfig(t *testing.T, secret string) string {
	t.Helper()
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "jwt-secret")
	if err := os.WriteFile(secretPath, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "starter:\n  jwt:\n    hs256_secret: file:" + secretPath + "\n"
	path := filepath.Join(dir, "temporal.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTokenCommandMintsAcceptedTokens(t *testing.T) {
	t.Parallel()
	secret := string(keys(t).secret)
	path := writeConfig(t, secret)
	out, err := runApp(t, "--config", path, "token", "--tenant", "acme", "--roles", "operator,viewer", "--ttl", "5m", "--subject", "ci")
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out)

	ks := &KeySet{}
	if err := ks.AddHMAC([]byte(secret)); err != nil {
		t.Fatal(err)
	}
	def := config.DefaultStarter().JWT
	v, err := newVerifier(def, ks, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	if _, err := v.parser.ParseWithClaims(tok, &c, ks.keyFor); err != nil {
		t.Fatalf("minted token refused: %v", err)
	}
	if c.TenantID != "acme" || c.Subject != "ci" || strings.Join(c.Roles, ",") != "operator,viewer" {
		t.Errorf("claims %+v", c)
	}
	if ttl := time.Until(c.ExpiresAt.Time); ttl > 5*time.Minute || ttl < 4*time.Minute {
		t.Errorf("expires in %s, want 5m", ttl)
	}
}

func TestAppRefuses(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, string(keys(t).secret))
	noSecret := filepath.Join(t.TempDir(), "temporal.yaml")
	if err := os.WriteFile(noSecret, []byte("log:\n  format: text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stray argument", []string{"--config", path, "srve"}, `unexpected argument "srve"`},
		{"argument after serve", []string{"--config", path, "serve", "now"}, `serve: unexpected argument "now"`},
		{"argument after token", []string{"--config", path, "token", "--tenant", "acme", "extra"}, `token: unexpected argument "extra"`},
		{"token without tenant", []string{"--config", path, "token"}, `"tenant" not set`},
		{"token with unknown role", []string{"--config", path, "token", "--tenant", "acme", "--roles", "root"}, `unknown role "root"`},
		{"token without a secret", []string{"--config", noSecret, "token", "--tenant", "acme"}, "hs256_secret is not set"},
		{"missing explicit config", []string{"--config", filepath.Join(t.TempDir(), "absent.yaml"), "token", "--tenant", "acme"}, "no such file"},
		{"invalid flag value", []string{"--config", path, "--log-format", "xml", "token", "--tenant", "acme"}, `log.format: "xml"`},
		{"token outliving max_lifetime", []string{"--config", path, "token", "--tenant", "acme", "--ttl", "48h"}, "over starter.jwt.max_lifetime (24h0m0s)"},
		{"grpc front not host:port", []string{"--config", path, "--grpc-listen", "50051", "serve"}, `starter.grpc_listen: "50051" is not host:port`},
		{"grpc front on the http port", []string{"--config", path, "--listen", "127.0.0.1:9", "--grpc-listen", "127.0.0.1:9", "serve"}, "the gRPC front needs its own port"},
		{"both address flags, disagreeing", []string{"--config", path, "--temporal-address", "a:7233", "--address", "b:7233", "serve"}, "--temporal-address and the deprecated --address disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runApp(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTemporalAddressFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want, warning string
		args                []string
	}{
		{"new flag", "a:7233", "", []string{"--temporal-address", "a:7233"}},
		{"deprecated alias", "b:7233", "deprecated", []string{"--address", "b:7233"}},
		{"both, agreeing", "c:7233", "deprecated", []string{"--temporal-address", "c:7233", "--address", "c:7233"}},
		{"neither", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var logs bytes.Buffer
			app := &cli.App{Flags: globalFlags(), Action: func(c *cli.Context) error {
				var err error
				got, err = temporalAddress(c, slog.New(slog.NewTextHandler(&logs, nil)))
				return err
			}}
			if err := app.Run(append([]string{"starter"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			if got != tt.want || !strings.Contains(logs.String(), tt.warning) || (tt.warning == "" && logs.Len() > 0) {
				t.Errorf("address %q, log %q; want %q and a warning %q", got, logs.String(), tt.want, tt.warning)
			}
		})
	}
}
