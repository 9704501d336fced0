package manifest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes and validates an ai-module.yaml named file (for messages).
// It returns the manifest with defaults applied, or every problem at once
// (errors.Join of *Error, each with line and path).
func Parse(file string, data []byte) (*Manifest, error) {
	if len(data) > MaxBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	p := &parser{file: file}
	m := p.manifest(&doc)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return m, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// fields returns the values of mapping n keyed by name, reporting unknown
// and repeated keys.
func (p *parser) fields(n *yaml.Node, path string, known []string) map[string]*yaml.Node {
	out := make(map[string]*yaml.Node)
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "must be a mapping, got %s", kind(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		switch {
		case known != nil && !slices.Contains(known, k.Value):
			p.add(k, kp, "unknown field (known: %s)", strings.Join(known, ", "))
		case out[k.Value] != nil:
			p.add(k, kp, "field repeated")
		default:
			out[k.Value] = v
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

var topFields = []string{
	"name", "version", "description", "module_type", "build_command", "start_command",
	"test_command", "dependencies", "system_dependencies", "environment_variables", "secrets",
	"deployment_target", "port", "health_check", "rollback_enabled", "resources", "monitoring",
}

func (p *parser) manifest(doc *yaml.Node) *Manifest {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == 0 || doc.Kind == yaml.DocumentNode {
		p.add(nil, "", "empty manifest: name, version, description, module_type, build_command and start_command are required")
		return nil
	}
	if doc.Kind != yaml.MappingNode {
		p.add(doc, "", "must be a mapping of fields, got %s", kind(doc))
		return nil
	}
	f := p.fields(doc, "", topFields)
	m := &Manifest{Port: DefaultPort, RollbackEnabled: true, HealthCheck: HealthCheck{
		Enabled: true, Endpoint: DefaultHealthEndpoint, Interval: DefaultHealthInterval,
		Timeout: DefaultHealthTimeout, Retries: DefaultHealthRetries,
	}}
	for _, req := range []string{"name", "version", "description", "module_type", "build_command", "start_command"} {
		if f[req] == nil {
			p.add(doc, req, "required")
		}
	}
	if n := f["name"]; n != nil {
		if m.Name = p.str(n, "name"); m.Name != "" && !ValidName(m.Name) {
			p.add(n, "name", "%q must be 1-64 lowercase letters, digits, '_', '.' or '-', starting with a letter or digit", m.Name)
		}
	}
	if n := f["version"]; n != nil {
		if m.Version = p.str(n, "version"); m.Version != "" && !ValidSemver(m.Version) {
			p.add(n, "version", "%q is not a semantic version (like 1.2.3)", m.Version)
		}
	}
	if n := f["description"]; n != nil {
		m.Description = p.str(n, "description")
	}
	if n := f["module_type"]; n != nil {
		m.ModuleType = p.enum(n, "module_type", ModuleTypes, "")
	}
	m.BuildCommand = p.command(f["build_command"], "build_command")
	m.StartCommand = p.command(f["start_command"], "start_command")
	m.TestCommand = p.command(f["test_command"], "test_command")
	m.Dependencies = p.strings(f["dependencies"], "dependencies")
	m.SystemDependencies = p.strings(f["system_dependencies"], "system_dependencies")
	m.Secrets = p.strings(f["secrets"], "secrets")
	for i, s := range m.Secrets {
		if !envNameRE.MatchString(s) {
			p.add(f["secrets"].Content[i], fmt.Sprintf("secrets[%d]", i), "%q is not an environment variable name", s)
		}
	}
	if n := f["environment_variables"]; n != nil {
		m.EnvironmentVariables = p.scalarMap(n, "environment_variables", true)
	}
	if n := f["deployment_target"]; n != nil {
		m.DeploymentTarget = p.enum(n, "deployment_target", DeploymentTargets, "not supported")
	}
	if n := f["port"]; n != nil {
		m.Port = p.intRange(n, "port", 1, 65535)
	}
	if n := f["health_check"]; n != nil {
		p.healthCheck(n, &m.HealthCheck)
	}
	if n := f["rollback_enabled"]; n != nil {
		m.RollbackEnabled = p.boolean(n, "rollback_enabled")
	}
	if n := f["resources"]; n != nil {
		m.Resources = p.scalarMap(n, "resources", false)
	}
	if n := f["monitoring"]; n != nil {
		m.Monitoring = p.scalarMap(n, "monitoring", false)
	}
	return m
}

func (p *parser) healthCheck(n *yaml.Node, h *HealthCheck) {
	const path = "health_check"
	f := p.fields(n, path, []string{"enabled", "endpoint", "interval", "timeout", "retries"})
	if v := f["enabled"]; v != nil {
		h.Enabled = p.boolean(v, path+".enabled")
	}
	if v := f["endpoint"]; v != nil {
		h.Endpoint = p.str(v, path+".endpoint")
		if !strings.HasPrefix(h.Endpoint, "/") || strings.ContainsAny(h.Endpoint, " \t\r\n#") || strings.Contains(h.Endpoint, "..") {
			p.add(v, path+".endpoint", "%q must be a path starting with / (no blanks, '#' or '..')", h.Endpoint)
		}
	}
	if v := f["interval"]; v != nil {
		h.Interval = p.intRange(v, path+".interval", 1, 3600)
	}
	if v := f["timeout"]; v != nil {
		h.Timeout = p.intRange(v, path+".timeout", 1, 600)
	}
	if v := f["retries"]; v != nil {
		h.Retries = p.intRange(v, path+".retries", 1, 100)
	}
}

func (p *parser) scalar(n *yaml.Node, path string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.add(n, path, "must be a single value, got %s", kind(n))
		return false
	}
	return true
}

func (p *parser) str(n *yaml.Node, path string) string {
	if !p.scalar(n, path) {
		return ""
	}
	if n.Tag != "!!str" {
		p.add(n, path, "must be a string, got %s (quote it)", kind(n))
		return ""
	}
	if strings.TrimSpace(n.Value) == "" {
		p.add(n, path, "must not be empty")
	}
	return n.Value
}

func (p *parser) enum(n *yaml.Node, path string, allowed []string, why string) string {
	s := p.str(n, path)
	if s == "" || slices.Contains(allowed, s) {
		return s
	}
	if why != "" {
		p.add(n, path, "%q is %s (supported: %s)", s, why, strings.Join(allowed, ", "))
	} else {
		p.add(n, path, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
	return ""
}

func (p *parser) intRange(n *yaml.Node, path string, lo, hi int) int {
	if !p.scalar(n, path) {
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if n.Tag != "!!int" || err != nil {
		p.add(n, path, "must be a whole number, got %s", kind(n))
		return 0
	}
	if v < lo || v > hi {
		p.add(n, path, "%d is out of range %d..%d", v, lo, hi)
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, path string) bool {
	if !p.scalar(n, path) {
		return false
	}
	if n.Tag != "!!bool" {
		p.add(n, path, "must be true or false, got %s", kind(n))
		return false
	}
	return n.Value == "true"
}

func (p *parser) strings(n *yaml.Node, path string) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list of strings, got %s", kind(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		out = append(out, p.str(c, fmt.Sprintf("%s[%d]", path, i)))
	}
	return out
}

// command reads a command: a string split by SplitCommand, or a list of
// strings taken as argv.
func (p *parser) command(n *yaml.Node, path string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		argv := p.strings(n, path)
		if len(argv) == 0 {
			p.add(n, path, "must not be empty")
		}
		return argv
	}
	s := p.str(n, path)
	if s == "" {
		return nil
	}
	argv, err := SplitCommand(s)
	if err != nil {
		p.add(n, path, "%v", err)
	}
	return argv
}

// scalarMap reads a mapping of scalar values as strings; envNames checks
// the keys are environment variable names.
func (p *parser) scalarMap(n *yaml.Node, path string, envNames bool) map[string]string {
	f := p.fields(n, path, nil)
	out := make(map[string]string, len(f))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if f[k.Value] != v {
			continue
		}
		kp := join(path, k.Value)
		if envNames && !envNameRE.MatchString(k.Value) {
			p.add(k, kp, "%q is not an environment variable name", k.Value)
		}
		if p.scalar(v, kp) {
			out[k.Value] = v.Value
		}
	}
	return out
}
