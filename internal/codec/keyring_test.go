package codec

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"contextworker/internal/config"
	"contextworker/internal/secret"
)

func TestKeyring(t *testing.T) {
	k := key(t)
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
		want    string
	}{
		{"no keys", "k1", nil, "no keys"},
		{"short key", "k1", map[string][]byte{"k1": k[:16]}, "16 bytes, want 32"},
		{"current missing", "k9", map[string][]byte{"k1": k}, `current key "k9" is not among the keys (k1)`},
		{"bad id", "a b", map[string][]byte{"a b": k}, "may hold only"},
		{"empty id", "", map[string][]byte{"": k}, "must be 1 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeyring(tt.current, tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadKeyring(t *testing.T) {
	k1, k2 := key(t), key(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k2"), []byte(base64.StdEncoding.EncodeToString(k2)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"K1":                    base64.StdEncoding.EncodeToString(k1),
		"SHORT":                 base64.StdEncoding.EncodeToString(k1[:31]),
		"NOTB64":                "planted-secret-not-base64!!",
		"CREDENTIALS_DIRECTORY": dir,
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	kr, err := LoadKeyring("k2", map[string]secret.Ref{"k1": secret.Env("K1"), "k2": {Credential: "k2"}}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kr.IDs(), ","); got != "k1,k2" || kr.Current() != "k2" {
		t.Fatalf("ids %s current %s", got, kr.Current())
	}

	_, err = LoadKeyring("a", map[string]secret.Ref{"a": secret.Env("SHORT"), "b": secret.Env("NOTB64"), "c": secret.Env("MISSING")}, lookup)
	for _, want := range []string{`key "a" (env:SHORT): decodes to 31 bytes`, `key "b" (env:NOTB64): not base64`, `key "c"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if !errors.Is(err, secret.ErrNotSet) {
		t.Errorf("a missing variable should wrap secret.ErrNotSet: %v", err)
	}
	if strings.Contains(err.Error(), "planted-secret") || strings.Contains(err.Error(), env["SHORT"]) {
		t.Errorf("error leaks key material: %v", err)
	}
}

func TestFromConfig(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(key(t))
	lookup := func(n string) (string, bool) { return k, n == "KEY" }
	c, err := FromConfig(config.Encryption{}, lookup)
	if err != nil || c != nil {
		t.Fatalf("disabled: %v %v", c, err)
	}
	c, err = FromConfig(config.Encryption{Enabled: true, CurrentKeyID: "k", Keys: map[string]secret.Ref{"k": secret.Env("KEY")}}, lookup)
	if err != nil || c == nil {
		t.Fatalf("enabled: %v", err)
	}
	_, err = FromConfig(config.Encryption{Enabled: true, CurrentKeyID: "k", Keys: map[string]secret.Ref{"k": secret.Env("NOPE")}}, lookup)
	if !errors.Is(err, secret.ErrNotSet) || !strings.HasPrefix(err.Error(), "temporal.encryption:") {
		t.Fatalf("missing key: %v", err)
	}
}
