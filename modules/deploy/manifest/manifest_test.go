package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func parseFile(t *testing.T, name string) (*Manifest, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(name, b)
}

func TestParseGood(t *testing.T) {
	m, err := parseFile(t, "full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "sample-app" || m.Version != "1.2.3-rc.1+build.5" || m.ModuleType != "web_app" || m.Port != 8080 ||
		m.DeploymentTarget != "ssh" || m.RollbackEnabled {
		t.Errorf("fields: %+v", m)
	}
	if want := []string{"python3", "app.py", "--greeting", "hello world"}; !slices.Equal(m.StartCommand, want) {
		t.Errorf("start_command = %q, want %q", m.StartCommand, want)
	}
	if want := []string{"python3", "test_app.py"}; !slices.Equal(m.TestCommand, want) {
		t.Errorf("test_command = %q", m.TestCommand)
	}
	if m.EnvironmentVariables["WORKERS"] != "2" || m.Resources["memory"] != "256Mi" || m.Monitoring["enabled"] != "true" {
		t.Errorf("maps: %v %v %v", m.EnvironmentVariables, m.Resources, m.Monitoring)
	}
	if (m.HealthCheck != HealthCheck{Enabled: true, Endpoint: "/healthz", Interval: 2, Timeout: 1, Retries: 5}) {
		t.Errorf("health_check = %+v", m.HealthCheck)
	}
}

func TestParseDefaults(t *testing.T) {
	m, err := parseFile(t, "minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := HealthCheck{Enabled: true, Endpoint: "/health", Interval: 30, Timeout: 10, Retries: 3}
	if m.Port != 8000 || !m.RollbackEnabled || m.HealthCheck != want || m.DeploymentTarget != "" || m.TestCommand != nil {
		t.Errorf("defaults: %+v", m)
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		file string
		want []string // every one must appear, each as its own error
	}{
		{"many.bad.yaml", []string{
			`many.bad.yaml:1: name: "Bad Name" must be 1-64 lowercase`,
			`many.bad.yaml:2: version: "v1.0" is not a semantic version`,
			`many.bad.yaml:3: description: must not be empty`,
			`many.bad.yaml:4: module_type: "website" is not one of web_app, api,`,
			`many.bad.yaml:5: build_command: unterminated ' quote`,
			`many.bad.yaml:6: deployment_target: "kubernetes" is not supported (supported: local, ssh)`,
			`many.bad.yaml:7: port: 70000 is out of range 1..65535`,
			`many.bad.yaml:9: health_check.enabled: must be true or false, got "yes please"`,
			`many.bad.yaml:10: health_check.endpoint: "health" must be a path starting with /`,
			`many.bad.yaml:11: health_check.retries: 0 is out of range 1..100`,
			`many.bad.yaml:12: health_check.every: unknown field`,
			`many.bad.yaml:13: rollback_enabled: must be true or false, got "true"`,
			`many.bad.yaml:15: environment_variables.1BAD: "1BAD" is not an environment variable name`,
			`many.bad.yaml:16: secrets[1]: "bad-name" is not an environment variable name`,
			`many.bad.yaml:17: colour: unknown field`,
			`many.bad.yaml:18: name: field repeated`,
			`many.bad.yaml:1: start_command: required`,
		}},
		{"types.bad.yaml", []string{
			`types.bad.yaml:3: description: must be a single value, got a list`,
			`types.bad.yaml:5: build_command: must not be empty`,
			`types.bad.yaml:6: start_command: must be a single value, got a mapping`,
			`types.bad.yaml:7: port: must be a whole number, got "eighty"`,
			`types.bad.yaml:8: test_command[1]: must be a single value, got a mapping`,
		}},
		{"list.bad.yaml", []string{`list.bad.yaml:1: must be a mapping of fields, got a list`}},
		{"empty.bad.yaml", []string{`empty.bad.yaml: empty manifest`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := parseFile(t, tt.file)
			if err == nil {
				t.Fatalf("no error; manifest %+v", m)
			}
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("missing error %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestParseBounds(t *testing.T) {
	big := "name: x\ndescription: \"" + strings.Repeat("a", MaxBytes) + "\"\n"
	if _, err := Parse("big.yaml", []byte(big)); err == nil || !strings.Contains(err.Error(), "more than the 65536 allowed") {
		t.Errorf("oversized manifest: %v", err)
	}
	if _, err := Parse("bad.yaml", []byte("name: [unclosed")); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("broken YAML: %v", err)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"go build ./...", []string{"go", "build", "./..."}},
		{`python3 -c "print(1)"`, []string{"python3", "-c", "print(1)"}},
		{`echo a;rm -rf /`, []string{"echo", "a;rm", "-rf", "/"}},
		{`a '' b`, []string{"a", "", "b"}},
		{"  spaced\targs  ", []string{"spaced", "args"}},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "   ", `"open`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q): no error", bad)
		}
	}
}

// TestSchemaMatchesParser keeps the editors' JSON Schema in step with the
// parser: same fields, required set and enums.
func TestSchemaMatchesParser(t *testing.T) {
	var s struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Enum       []string                   `json:"enum"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
		AdditionalProperties bool `json:"additionalProperties"`
	}
	if err := json.Unmarshal(Schema, &s); err != nil {
		t.Fatal(err)
	}
	var props []string
	for k := range s.Properties {
		props = append(props, k)
	}
	sort.Strings(props)
	want := slices.Clone(topFields)
	sort.Strings(want)
	if !slices.Equal(props, want) || s.AdditionalProperties {
		t.Errorf("schema properties %v, want %v and additionalProperties false", props, want)
	}
	if want := []string{"name", "version", "description", "module_type", "build_command", "start_command"}; !slices.Equal(s.Required, want) {
		t.Errorf("required = %v, want %v", s.Required, want)
	}
	if !slices.Equal(s.Properties["module_type"].Enum, ModuleTypes) || !slices.Equal(s.Properties["deployment_target"].Enum, DeploymentTargets) {
		t.Errorf("enums differ from the parser's")
	}
	if n := len(s.Properties["health_check"].Properties); n != 5 {
		t.Errorf("health_check has %d properties, want 5", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"full.good.yaml", "many.bad.yaml", "types.bad.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse("fuzz.yaml", b)
		if (m == nil) == (err == nil) {
			t.Fatalf("manifest %v and error %v", m, err)
		}
	})
}
