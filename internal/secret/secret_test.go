package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseAndYAML(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Ref
		wantErr string
	}{
		{name: "env string", yaml: `env:DATABASE_URL`, want: Ref{Env: "DATABASE_URL"}},
		{name: "file string", yaml: `file:/run/secrets/pg`, want: Ref{File: "/run/secrets/pg"}},
		{name: "credential string", yaml: `credential:pg`, want: Ref{Credential: "pg"}},
		{name: "mapping", yaml: `{env: X}`, want: Ref{Env: "X"}},
		{name: "literal refused", yaml: `hunter2secret`, wantErr: "is not a reference"},
		{name: "literal not echoed", yaml: `postgres://u:pw@h/db`, wantErr: `is not a reference`},
		{name: "two sources", yaml: `{env: X, file: /y}`, wantErr: "exactly one"},
		{name: "credential path", yaml: `credential:../x`, wantErr: "path separator"},
		{name: "sequence", yaml: `[a]`, wantErr: "string or a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Ref
			err := yaml.Unmarshal([]byte(tt.yaml), &r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), ":pw@") {
					t.Fatalf("error leaks the literal: %v", err)
				}
				return
			}
			if err != nil || r != tt.want {
				t.Fatalf("got %+v, %v; want %+v", r, err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"X": "from-env", "CREDENTIALS_DIRECTORY": dir}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name    string
		ref     Ref
		want    string
		notSet  bool
		wantErr string
	}{
		{name: "env", ref: Env("X"), want: "from-env"},
		{name: "env missing", ref: Env("MISSING"), notSet: true},
		{name: "file", ref: Ref{File: filepath.Join(dir, "pg")}, want: "s3cret"},
		{name: "file missing", ref: Ref{File: filepath.Join(dir, "nope")}, notSet: true},
		{name: "systemd credential", ref: Ref{Credential: "pg"}, want: "s3cret"},
		{name: "zero", ref: Ref{}, wantErr: "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ref.Resolve(lookup)
			switch {
			case tt.notSet:
				if !errors.Is(err, ErrNotSet) {
					t.Fatalf("err = %v, want ErrNotSet", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			default:
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
			}
		})
	}
}

func TestStringNeverHoldsValue(t *testing.T) {
	r := Env("DATABASE_URL")
	if r.String() != "env:DATABASE_URL" || r.LogValue().String() != "env:DATABASE_URL" {
		t.Fatalf("String = %q", r.String())
	}
}
