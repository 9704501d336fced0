// Package secret resolves secret references from configuration.
//
// Secrets (database DSNs, JWT keys, API keys, HTTP header tokens) never live
// in temporal.yaml. The YAML only names where a secret comes from: an
// environment variable, a file, or a systemd credential
// ($CREDENTIALS_DIRECTORY/<name>). A Ref prints as that reference, never as
// the value, so logging a config can not leak a secret.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrNotSet is returned when the referenced variable, file or credential
// does not exist.
var ErrNotSet = errors.New("secret not set")

// Ref is a reference to a secret. In YAML it is written as a string
// "env:NAME", "file:/path" or "credential:name", or as a mapping with one of
// the keys env, file or credential. A plain literal is refused.
type Ref struct {
	Env        string `yaml:"env"`
	File       string `yaml:"file"`
	Credential string `yaml:"credential"`
}

// Env returns a reference to the environment variable name.
func Env(name string) Ref { return Ref{Env: name} }

// Parse parses the string form of a reference.
func Parse(s string) (Ref, error) {
	kind, val, ok := strings.Cut(s, ":")
	if !ok || val == "" {
		return Ref{}, fmt.Errorf("secret: %q is not a reference: write env:NAME, file:/path or credential:name (secrets never go in the config file)", redact(s))
	}
	var r Ref
	switch kind {
	case "env":
		r.Env = val
	case "file":
		r.File = val
	case "credential":
		r.Credential = val
	default:
		return Ref{}, fmt.Errorf("secret: %q is not a reference (unknown kind %q): write env:NAME, file:/path or credential:name (secrets never go in the config file)", redact(s), redact(kind))
	}
	return r, r.Validate()
}

// redact keeps a bad value out of error messages: it might be the secret.
func redact(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return s[:2] + "****"
}

// UnmarshalYAML accepts both the string and the mapping form.
func (r *Ref) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		ref, err := Parse(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*r = ref
		return nil
	case yaml.MappingNode:
		type plain Ref
		var p plain
		if err := n.Decode(&p); err != nil {
			return err
		}
		*r = Ref(p)
		return r.Validate()
	}
	return fmt.Errorf("line %d: secret reference must be a string or a mapping", n.Line)
}

// MarshalYAML writes the string form.
func (r Ref) MarshalYAML() (any, error) { return r.String(), nil }

// IsZero reports whether r refers to nothing.
func (r Ref) IsZero() bool { return r == Ref{} }

// Validate checks that exactly one source is set.
func (r Ref) Validate() error {
	n := 0
	for _, s := range []string{r.Env, r.File, r.Credential} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("secret: set exactly one of env, file or credential")
	}
	if r.Credential != "" && strings.ContainsAny(r.Credential, `/\`) {
		return fmt.Errorf("secret: credential name %q must not contain a path separator", r.Credential)
	}
	return nil
}

// String describes the reference, never the value.
func (r Ref) String() string {
	switch {
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	case r.Credential != "":
		return "credential:" + r.Credential
	}
	return ""
}

// LogValue keeps slog from printing anything but the reference.
func (r Ref) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Lookup reads environment variables; os.LookupEnv satisfies it.
type Lookup func(string) (string, bool)

// Resolve returns the secret's value. File contents have one trailing newline
// removed. A missing source is an error wrapping ErrNotSet.
func (r Ref) Resolve(env Lookup) (string, error) {
	if env == nil {
		env = os.LookupEnv
	}
	if err := r.Validate(); err != nil {
		return "", err
	}
	switch {
	case r.Env != "":
		v, ok := env(r.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("secret %s: %w: set the environment variable %s", r, ErrNotSet, r.Env)
		}
		return v, nil
	case r.File != "":
		return readFile(r, r.File)
	default:
		dir, ok := env("CREDENTIALS_DIRECTORY")
		if !ok || dir == "" {
			return "", fmt.Errorf("secret %s: %w: $CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=)", r, ErrNotSet)
		}
		return readFile(r, filepath.Join(dir, r.Credential))
	}
}

func readFile(r Ref, path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("secret %s: %w: no file %s", r, ErrNotSet, path)
	}
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", r, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
