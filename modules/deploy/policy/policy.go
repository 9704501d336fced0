// Package policy decides whether a command may run on a deploy target. The
// policy comes from the target's configuration (temporal.yaml), never from
// the client or the repository: allowed programs, denied patterns, paths
// confined to the release directory, an environment allow-list, timeouts,
// output caps and a rate limit. Commands are argv, never shell strings.
// Check and CheckPlan are pure; CheckFiles reads the release directory
// through os.Root only. The package never runs anything.
package policy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Command is one command of a plan: argv run in Dir (relative to the
// release directory; "" is the release root) with Env added to the
// target's clean environment.
type Command struct {
	Step string            `json:"step"`
	Argv []string          `json:"argv"`
	Dir  string            `json:"dir,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
}

// Refusal is a command the policy refuses, naming the rule.
type Refusal struct {
	Step   string
	Rule   string
	Detail string
}

func (r *Refusal) Error() string {
	if r.Step == "" {
		return fmt.Sprintf("policy refused (rule %s): %s", r.Rule, r.Detail)
	}
	return fmt.Sprintf("policy refused step %s (rule %s): %s", r.Step, r.Rule, r.Detail)
}

// ErrRefused is matched (errors.Is) by every Refusal.
var ErrRefused = errors.New("policy refused")

// Is makes errors.Is(err, ErrRefused) true for refusals.
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

// Rules, as named in refusals.
const (
	RuleArgvEmpty     = "argv.empty"
	RuleArgvCount     = "argv.count"
	RuleArgSize       = "arg.size"
	RuleArgControl    = "arg.control"
	RuleArgShell      = "arg.shell"
	RuleArgPath       = "arg.path"
	RuleDenied        = "denied_pattern"
	RuleProgramPath   = "program.path"
	RuleProgram       = "program.allowed"
	RuleProgramNever  = "program.never"
	RuleInlineCode    = "program.inline_code"
	RuleDir           = "dir.confined"
	RuleEnvName       = "env.name"
	RuleEnvDenied     = "env.denied"
	RuleEnvNotAllowed = "env.allowed"
	RuleEnvValue      = "env.value"
	RuleSymlink       = "path.symlink_escape"
	RulePlanSize      = "plan.size"
)

// Policy is a target's command policy (modules.deploy.targets.<name>.policy).
type Policy struct {
	// AllowedPrograms are the program names commands may start, looked up
	// on Path. Shells and command runners (sh, env, xargs, sudo…) can never
	// be listed.
	AllowedPrograms []string `yaml:"allowed_programs"`
	// AllowReleasePrograms lets a command start a program inside the
	// release directory (./app, bin/server).
	AllowReleasePrograms bool `yaml:"allow_release_programs"`
	// DeniedPatterns are regular expressions refused in any argument, on
	// top of the built-in rules.
	DeniedPatterns []string `yaml:"denied_patterns"`
	// AllowedPaths are absolute path prefixes arguments may name; every
	// other absolute path is refused.
	AllowedPaths []string `yaml:"allowed_paths"`
	// EnvAllow lists the variables a deploy may set (input env and the
	// manifest's environment_variables and secrets).
	EnvAllow []string `yaml:"env_allow"`
	// Path is the PATH of the clean environment commands run with.
	Path []string `yaml:"path"`
	// CommandTimeout bounds each command.
	CommandTimeout time.Duration `yaml:"command_timeout"`
	// MaxOutputBytes caps what is read of a command's output; the rest is
	// discarded and counted, and the audit keeps a tail.
	MaxOutputBytes int64 `yaml:"max_output_bytes"`
	MaxArgBytes    int   `yaml:"max_arg_bytes"`
	MaxArgs        int   `yaml:"max_args"`
	MaxCommands    int   `yaml:"max_commands"`
	// CommandsPerMinute and Burst rate-limit commands on the target.
	CommandsPerMinute float64 `yaml:"commands_per_minute"`
	Burst             int     `yaml:"burst"`

	denied []*regexp.Regexp
}

// Default returns the default policy: no program allowed until the
// config lists them.
func Default() Policy {
	return Policy{
		DeniedPatterns:    []string{`(^|/)\.ssh(/|$)`, `(?i)id_(rsa|ed25519|ecdsa)`, `^/proc/`, `/dev/tcp/`, `^--upload-pack`, `^--exec=`, `^-oProxyCommand`},
		Path:              []string{"/usr/local/bin", "/usr/bin", "/bin"},
		CommandTimeout:    10 * time.Minute,
		MaxOutputBytes:    1 << 20,
		MaxArgBytes:       4096,
		MaxArgs:           64,
		MaxCommands:       32,
		CommandsPerMinute: 120,
		Burst:             20,
	}
}

// neverPrograms run other programs or shell strings; allowing them would
// void every other rule.
var neverPrograms = []string{
	"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox", "env", "xargs", "sudo", "su", "doas",
	"nohup", "setsid", "eval", "exec", "ssh", "scp", "nc", "ncat", "socat", "chroot", "nsenter", "unshare", "script",
	"timeout", "nice", "strace", "gdb", "awk", "gawk", "mawk", "sed", "perl5",
}

// interpreters take code inline with these flags.
var interpreters = map[string][]string{
	"python": {"-c"}, "python3": {"-c"}, "node": {"-e", "--eval", "-p", "--print"}, "perl": {"-e", "-E"},
	"ruby": {"-e"}, "php": {"-r"}, "lua": {"-e"}, "deno": {"eval"}, "bun": {"-e", "--eval"},
	"make": {"--eval", "-E"}, "git": {"-c", "--exec-path", "--config-env"},
	"find": {"-exec", "-execdir", "-ok", "-okdir", "-fprint", "-delete"}, "tar": {"--to-command", "--checkpoint-action", "-I", "--use-compress-program"},
}

// deniedEnv can change what a program loads or runs, whatever the
// allow-list says.
var deniedEnv = []string{"PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "PS4", "PROMPT_COMMAND", "HOME", "SHELL",
	"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS",
	"GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_CONFIG", "EDITOR", "PAGER", "GCONV_PATH", "TMPDIR", "GOFLAGS", "CC"}

var deniedEnvPrefixes = []string{"LD_", "DYLD_", "GIT_CONFIG_", "BASH_FUNC_"}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// Validate checks the policy and compiles its patterns; every problem at
// once, each naming its field.
func (p *Policy) Validate() error {
	var errs []error
	for i, prog := range p.AllowedPrograms {
		switch {
		case prog == "" || strings.ContainsAny(prog, "/\\ \t\n\x00"):
			errs = append(errs, fmt.Errorf("allowed_programs[%d]: %q must be a bare program name (found on path)", i, prog))
		case slices.Contains(neverPrograms, prog):
			errs = append(errs, fmt.Errorf("allowed_programs[%d]: %q runs other commands or shell strings and can never be allowed", i, prog))
		}
	}
	p.denied = p.denied[:0]
	for i, pat := range p.DeniedPatterns {
		re, err := regexp.Compile(pat)
		if err != nil {
			errs = append(errs, fmt.Errorf("denied_patterns[%d]: %w", i, err))
			continue
		}
		p.denied = append(p.denied, re)
	}
	for i, a := range p.AllowedPaths {
		if !strings.HasPrefix(a, "/") || strings.Contains(a, "..") || a == "/" {
			errs = append(errs, fmt.Errorf("allowed_paths[%d]: %q must be an absolute path other than /, without '..'", i, a))
		}
	}
	for i, e := range p.EnvAllow {
		if !envNameRE.MatchString(e) || envDenied(e) {
			errs = append(errs, fmt.Errorf("env_allow[%d]: %q is not a variable a deploy may set", i, e))
		}
	}
	for i, d := range p.Path {
		if !strings.HasPrefix(d, "/") || strings.ContainsAny(d, ":\n\x00") {
			errs = append(errs, fmt.Errorf("path[%d]: %q must be an absolute directory", i, d))
		}
	}
	if len(p.Path) == 0 {
		errs = append(errs, errors.New("path: must list at least one directory"))
	}
	if p.CommandTimeout <= 0 {
		errs = append(errs, fmt.Errorf("command_timeout: must be > 0, got %s", p.CommandTimeout))
	}
	if p.MaxOutputBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_output_bytes: must be >= 1024, got %d", p.MaxOutputBytes))
	}
	if p.MaxArgBytes < 64 || p.MaxArgBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("max_arg_bytes: must be 64..1048576, got %d", p.MaxArgBytes))
	}
	if p.MaxArgs < 1 || p.MaxArgs > 4096 {
		errs = append(errs, fmt.Errorf("max_args: must be 1..4096, got %d", p.MaxArgs))
	}
	if p.MaxCommands < 1 {
		errs = append(errs, fmt.Errorf("max_commands: must be >= 1, got %d", p.MaxCommands))
	}
	if p.CommandsPerMinute <= 0 || p.Burst < 1 {
		errs = append(errs, fmt.Errorf("commands_per_minute and burst: must be > 0, got %g and %d", p.CommandsPerMinute, p.Burst))
	}
	return errors.Join(errs...)
}

func envDenied(name string) bool {
	if slices.Contains(deniedEnv, strings.ToUpper(name)) {
		return true
	}
	for _, pre := range deniedEnvPrefixes {
		if strings.HasPrefix(strings.ToUpper(name), pre) {
			return true
		}
	}
	return false
}

// EnvPath is the PATH value of the clean environment.
func (p *Policy) EnvPath() string { return strings.Join(p.Path, ":") }
