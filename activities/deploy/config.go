package deploy

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"contextworker/internal/ident"
	"contextworker/internal/secret"
	"contextworker/modules/deploy/hook"
	"contextworker/modules/deploy/policy"
	wf "contextworker/workflows/deploy"
)

// Config is the deploy module's section of temporal.yaml (modules.deploy).
type Config struct {
	// WorkspaceDir holds the workers' checkouts.
	WorkspaceDir string `yaml:"workspace_dir"`
	// Repositories are the prefixes a deploy's repository must start with
	// (URLs or absolute paths on the worker); none means no deploy runs.
	Repositories []string `yaml:"repositories"`
	// MaxSourceBytes bounds a checked-out tree shipped as a release.
	MaxSourceBytes   int64         `yaml:"max_source_bytes"`
	GitTimeout       time.Duration `yaml:"git_timeout"`
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"`
	// ApprovalTimeout bounds the wait for an approve signal.
	ApprovalTimeout time.Duration      `yaml:"approval_timeout"`
	Targets         map[string]*Target `yaml:"targets"`
	// Hooks deploy on signed git pushes (POST /v1/hooks/git).
	Hooks []hook.Hook `yaml:"hooks"`
	// Planner configures the optional LLM planner; off when unset.
	Planner *Planner `yaml:"planner"`
}

// Target is one deploy target (modules.deploy.targets.<name>).
type Target struct {
	// Kind is local or ssh.
	Kind string `yaml:"kind"`
	// Dir is the base directory on the target (releases/, current, run/).
	// Local targets may give it relative to the worker's directory.
	Dir string `yaml:"dir"`
	// Tenants may deploy here; none means every tenant.
	Tenants []string `yaml:"tenants"`
	// ApprovePlans makes every deploy wait for an approve signal once its
	// plan is shown.
	ApprovePlans bool `yaml:"approve_plans"`
	// KeepReleases is how many releases stay on the target.
	KeepReleases int `yaml:"keep_releases"`
	// HealthHost is where the worker reaches started releases; default
	// 127.0.0.1 (local) or the SSH host.
	HealthHost string `yaml:"health_host"`
	SSH        *SSH   `yaml:"ssh"`
	// Policy is the target's command policy; unset fields take defaults.
	Policy *policy.Policy `yaml:"policy"`
	// Secrets maps the names manifests may ask for to secret refs.
	Secrets map[string]secret.Ref `yaml:"secrets"`
}

// SSH is how to reach an ssh target.
type SSH struct {
	Addr       string        `yaml:"addr"`
	User       string        `yaml:"user"`
	KnownHosts string        `yaml:"known_hosts"`
	PrivateKey secret.Ref    `yaml:"private_key"`
	Timeout    time.Duration `yaml:"timeout"`
}

// DefaultConfig returns the deploy defaults.
func DefaultConfig() *Config {
	return &Config{
		WorkspaceDir:     ".data/deploy/workspaces",
		MaxSourceBytes:   256 << 20,
		GitTimeout:       5 * time.Minute,
		HeartbeatTimeout: 30 * time.Second,
		ApprovalTimeout:  24 * time.Hour,
	}
}

// Validate reports every problem, each naming its field, and fills the
// targets' defaults.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.WorkspaceDir == "" {
		add("workspace_dir", "required")
	}
	for i, r := range c.Repositories {
		if r == "" || strings.HasPrefix(r, "-") {
			add(fmt.Sprintf("repositories[%d]", i), "%q is not a repository prefix", r)
		}
	}
	if c.MaxSourceBytes < 1<<10 {
		add("max_source_bytes", "must be >= 1024, got %d", c.MaxSourceBytes)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"git_timeout", c.GitTimeout}, {"heartbeat_timeout", c.HeartbeatTimeout}, {"approval_timeout", c.ApprovalTimeout}} {
		if d.v <= 0 {
			add(d.name, "must be > 0, got %s", d.v)
		}
	}
	for i := range c.Hooks {
		h := &c.Hooks[i]
		p := fmt.Sprintf("hooks[%d]", i)
		errs = append(errs, h.Validate(p)...)
		if _, ok := c.Targets[h.Target]; h.Target != "" && !ok {
			add(p+".target", "%q is not a configured target", h.Target)
		}
	}
	for _, name := range c.targetNames() {
		t := c.Targets[name]
		p := "targets." + name
		if !ident.Valid(name) {
			add(p, "target names are 1-64 letters, digits, '_', '.' or '-'")
		}
		if t == nil {
			add(p, "empty target")
			continue
		}
		errs = append(errs, t.validate(p)...)
	}
	if c.Planner != nil && c.Planner.LLM != nil {
		errs = append(errs, c.Planner.LLM.validate("planner.llm")...)
	}
	return errors.Join(errs...)
}

func (c *Config) targetNames() []string {
	names := make([]string, 0, len(c.Targets))
	for n := range c.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (t *Target) validate(p string) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", p, field, fmt.Sprintf(format, args...)))
	}
	switch t.Kind {
	case "local":
		if t.SSH != nil {
			add("ssh", "only for kind ssh")
		}
		if t.HealthHost == "" {
			t.HealthHost = "127.0.0.1"
		}
	case "ssh":
		if t.SSH == nil {
			add("ssh", "required for kind ssh (addr, user, known_hosts, private_key)")
			break
		}
		if t.SSH.Addr == "" || !strings.Contains(t.SSH.Addr, ":") {
			add("ssh.addr", "%q must be host:port", t.SSH.Addr)
		}
		if t.SSH.User == "" {
			add("ssh.user", "required")
		}
		if t.SSH.KnownHosts == "" {
			add("ssh.known_hosts", "required: host keys are always verified")
		}
		if t.SSH.PrivateKey.IsZero() {
			add("ssh.private_key", "required: a secret ref (env:, file:, credential:)")
		}
		if t.SSH.Timeout == 0 {
			t.SSH.Timeout = 15 * time.Second
		}
		if t.HealthHost == "" {
			t.HealthHost, _, _ = strings.Cut(t.SSH.Addr, ":")
		}
		if t.Dir != "" && !filepath.IsAbs(t.Dir) {
			add("dir", "%q must be absolute on an ssh target", t.Dir)
		}
	default:
		add("kind", "%q is not supported (supported: local, ssh)", t.Kind)
	}
	if t.Dir == "" || strings.Contains(t.Dir, "..") || filepath.Clean(t.Dir) == "/" {
		add("dir", "%q must be a directory other than /, without '..'", t.Dir)
	}
	for i, tn := range t.Tenants {
		if !ident.Valid(tn) {
			add(fmt.Sprintf("tenants[%d]", i), "%q is not a tenant id", tn)
		}
	}
	if t.KeepReleases == 0 {
		t.KeepReleases = 5
	}
	if t.KeepReleases < 2 {
		add("keep_releases", "must be >= 2 (the current release and one to roll back to), got %d", t.KeepReleases)
	}
	if t.Policy == nil {
		t.Policy = &policy.Policy{}
	}
	fillPolicy(t.Policy)
	if err := t.Policy.Validate(); err != nil {
		for _, e := range unjoin(err) {
			errs = append(errs, fmt.Errorf("%s.policy.%w", p, e))
		}
	}
	for name := range t.Secrets {
		if !strings.EqualFold(name, strings.ToUpper(name)) || strings.ContainsAny(name, "=- ") {
			add("secrets."+name, "secret names are environment variable names")
		}
	}
	return errs
}

// fillPolicy gives unset policy fields their defaults.
func fillPolicy(p *policy.Policy) {
	d := policy.Default()
	if p.DeniedPatterns == nil {
		p.DeniedPatterns = d.DeniedPatterns
	}
	if p.Path == nil {
		p.Path = d.Path
	}
	if p.CommandTimeout == 0 {
		p.CommandTimeout = d.CommandTimeout
	}
	if p.MaxOutputBytes == 0 {
		p.MaxOutputBytes = d.MaxOutputBytes
	}
	if p.MaxArgBytes == 0 {
		p.MaxArgBytes = d.MaxArgBytes
	}
	if p.MaxArgs == 0 {
		p.MaxArgs = d.MaxArgs
	}
	if p.MaxCommands == 0 {
		p.MaxCommands = d.MaxCommands
	}
	if p.CommandsPerMinute == 0 {
		p.CommandsPerMinute = d.CommandsPerMinute
	}
	if p.Burst == 0 {
		p.Burst = d.Burst
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// CheckTarget refuses an unknown target or one that does not serve
// tenant.
func (c *Config) CheckTarget(tenant, target string) error {
	t, ok := c.Targets[target]
	switch {
	case !ok:
		return fmt.Errorf("target: %q is not configured (known: %s)", target, strings.Join(c.targetNames(), ", "))
	case len(t.Tenants) > 0 && !slices.Contains(t.Tenants, tenant):
		return fmt.Errorf("target: %q does not serve tenant %q", target, tenant)
	}
	return nil
}

// Check refuses, with no I/O, an input that can never deploy under this
// config: unknown target, a tenant the target does not serve, a repository
// outside the allowed prefixes.
func (c *Config) Check(in wf.Input) error {
	var errs []error
	t, ok := c.Targets[in.Target]
	switch {
	case !ok:
		errs = append(errs, fmt.Errorf("target: %q is not configured (known: %s)", in.Target, strings.Join(c.targetNames(), ", ")))
	case len(t.Tenants) > 0 && !slices.Contains(t.Tenants, in.TenantID):
		errs = append(errs, fmt.Errorf("target: %q does not serve tenant %q", in.Target, in.TenantID))
	}
	allowed := false
	for _, prefix := range c.Repositories {
		if in.Repository == prefix || strings.HasPrefix(in.Repository, strings.TrimSuffix(prefix, "/")+"/") {
			allowed = true
		}
	}
	if !allowed {
		errs = append(errs, fmt.Errorf("repository: %q is not under modules.deploy.repositories", in.Repository))
	}
	if ok && t.Policy != nil {
		keys := make([]string, 0, len(in.Env))
		for k := range in.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := t.Policy.CheckEnv("env", map[string]string{k: in.Env[k]}); err != nil {
				errs = append(errs, fmt.Errorf("env.%s: %w", k, err))
			}
		}
	}
	return errors.Join(errs...)
}
