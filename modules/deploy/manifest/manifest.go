// Package manifest reads and validates ai-module.yaml, the tier-1
// description of a deployable module (compatible with ContextFlow's
// format). Validation is strict and reports every problem at once, each
// with its path and line. Pure: no I/O beyond the bytes it is handed; it
// never runs or resolves anything the manifest names (secrets are names
// only, resolved by the deploy activities from the target's secret refs).
package manifest

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// FileName is the manifest's file name at the repository root.
const FileName = "ai-module.yaml"

// MaxBytes bounds a manifest; a larger file is refused before parsing.
const MaxBytes = 64 << 10

// Schema is the JSON Schema of ai-module.yaml, for editors
// (yaml-language-server: $schema=...).
//
//go:embed ai-module.schema.json
var Schema []byte

// Module types (module_type).
var ModuleTypes = []string{"web_app", "api", "microservice", "data_pipeline", "ml_model", "automation", "infrastructure"}

// Deployment targets the platform supports (deployment_target).
var DeploymentTargets = []string{"local", "ssh"}

// Defaults for optional fields.
const (
	DefaultPort           = 8000
	DefaultHealthEndpoint = "/health"
	DefaultHealthInterval = 30
	DefaultHealthTimeout  = 10
	DefaultHealthRetries  = 3
)

// Manifest is a validated ai-module.yaml with its defaults applied.
// Commands are argv: a string command is split on blanks (quotes group,
// nothing is expanded), a list is taken as is; no shell ever sees them.
type Manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Description          string            `json:"description"`
	ModuleType           string            `json:"module_type"`
	BuildCommand         []string          `json:"build_command"`
	StartCommand         []string          `json:"start_command"`
	TestCommand          []string          `json:"test_command,omitempty"`
	Dependencies         []string          `json:"dependencies,omitempty"`
	SystemDependencies   []string          `json:"system_dependencies,omitempty"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	// Secrets are names the target resolves from its secret refs; the
	// values are never stored.
	Secrets          []string          `json:"secrets,omitempty"`
	DeploymentTarget string            `json:"deployment_target,omitempty"`
	Port             int               `json:"port"`
	HealthCheck      HealthCheck       `json:"health_check"`
	RollbackEnabled  bool              `json:"rollback_enabled"`
	Resources        map[string]string `json:"resources,omitempty"`
	Monitoring       map[string]string `json:"monitoring,omitempty"`
}

// HealthCheck says how a started release is probed: an HTTP GET of
// Endpoint on Port, Retries attempts Interval seconds apart, each given
// Timeout seconds.
type HealthCheck struct {
	Enabled  bool   `json:"enabled"`
	Endpoint string `json:"endpoint"`
	Interval int    `json:"interval"`
	Timeout  int    `json:"timeout"`
	Retries  int    `json:"retries"`
}

// semverRE is semver 2.0.0's own regular expression.
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// nameRE is what a module name may look like: it ends up in workflow ids
// and directory names.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// envNameRE is a portable environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ValidSemver reports whether v is a semantic version (2.0.0).
func ValidSemver(v string) bool { return semverRE.MatchString(v) }

// ValidName reports whether s may name a module.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Error is one validation problem at a place in the file.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Path, e.Msg)
}

// Errors returns the individual problems of an error from Parse.
func Errors(err error) []*Error {
	var out []*Error
	var one *Error
	if errors.As(err, &one) && one == err {
		return []*Error{one}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
	}
	return out
}

// SplitCommand splits a command string into argv: fields separated by
// blanks, single or double quotes grouping (no escapes, no expansion).
// Shell syntax is not interpreted: `a; b` is the three words "a;", "b"…
// which the command policy then refuses.
func SplitCommand(s string) ([]string, error) {
	var argv []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
				continue
			}
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				argv = append(argv, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		argv = append(argv, cur.String())
	}
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	return argv, nil
}
