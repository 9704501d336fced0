package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// shellChars are refused in any argument: no shell sees our argv, but a
// remote sshd runs commands through the user's shell (we quote them) and
// an argument holding these is an injection attempt, not a deploy.
const shellChars = ";&|`$<>"

// CheckPlan checks every command of a plan before the first one runs and
// returns all refusals at once (errors.Join of *Refusal), or nil.
func (p *Policy) CheckPlan(cmds []Command) error {
	if len(cmds) > p.MaxCommands {
		return &Refusal{Rule: RulePlanSize, Detail: fmt.Sprintf("plan has %d commands, more than the %d allowed", len(cmds), p.MaxCommands)}
	}
	var errs []error
	for _, c := range cmds {
		if err := p.Check(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check checks one command and returns its first refusal, or nil.
func (p *Policy) Check(c Command) error {
	refuse := func(rule, format string, args ...any) error {
		return &Refusal{Step: c.Step, Rule: rule, Detail: fmt.Sprintf(format, args...)}
	}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return refuse(RuleArgvEmpty, "no program to run")
	}
	if len(c.Argv) > p.MaxArgs {
		return refuse(RuleArgvCount, "%d arguments, more than the %d allowed", len(c.Argv), p.MaxArgs)
	}
	for i, a := range c.Argv {
		if len(a) > p.MaxArgBytes {
			return refuse(RuleArgSize, "argument %d is %d bytes, more than the %d allowed", i, len(a), p.MaxArgBytes)
		}
		if j := strings.IndexFunc(a, isControl); j >= 0 {
			return refuse(RuleArgControl, "argument %d holds control character %q", i, a[j])
		}
		if j := strings.IndexAny(a, shellChars); j >= 0 {
			return refuse(RuleArgShell, "argument %d %q holds shell metacharacter %q", i, short(a), a[j])
		}
		for _, re := range p.deniedRE() {
			if re.MatchString(a) {
				return refuse(RuleDenied, "argument %d %q matches denied pattern %q", i, short(a), re.String())
			}
		}
		if i > 0 {
			if err := p.checkPathArg(a); err != "" {
				return refuse(RuleArgPath, "argument %d %q %s", i, short(a), err)
			}
		}
	}
	prog := c.Argv[0]
	base := path.Base(prog)
	switch {
	case strings.HasPrefix(prog, "/") || strings.HasPrefix(prog, "~"):
		return refuse(RuleProgramPath, "program %q is an absolute path; name an allowed program or one inside the release", short(prog))
	case slices.Contains(neverPrograms, base):
		return refuse(RuleProgramNever, "program %q runs other commands or shell strings", short(prog))
	case strings.Contains(prog, "/"):
		if escapes(prog) {
			return refuse(RuleProgramPath, "program %q leaves the release directory", short(prog))
		}
		if !p.AllowReleasePrograms {
			return refuse(RuleProgramPath, "program %q is inside the release, and the target does not allow release programs", short(prog))
		}
	case !slices.Contains(p.AllowedPrograms, prog):
		return refuse(RuleProgram, "program %q is not allowed on this target (allowed: %s)", short(prog), strings.Join(p.AllowedPrograms, ", "))
	}
	if flags, ok := interpreters[base]; ok {
		for i, a := range c.Argv[1:] {
			name, _, _ := strings.Cut(a, "=")
			if slices.Contains(flags, name) || (len(name) > 2 && name[0] == '-' && name[1] != '-' && slices.Contains(flags, name[:2])) {
				return refuse(RuleInlineCode, "argument %d %q makes %s run code or commands given inline", i+1, short(a), base)
			}
		}
	}
	if c.Dir != "" && (escapes(c.Dir) || strings.HasPrefix(c.Dir, "/")) {
		return refuse(RuleDir, "working directory %q leaves the release directory", short(c.Dir))
	}
	return p.CheckEnv(c.Step, c.Env)
}

// CheckEnv checks variables a command would be given, in name order, and
// returns the first refusal.
func (p *Policy) CheckEnv(step string, env map[string]string) error {
	refuse := func(rule, format string, args ...any) error {
		return &Refusal{Step: step, Rule: rule, Detail: fmt.Sprintf(format, args...)}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := env[k]
		switch {
		case !envNameRE.MatchString(k):
			return refuse(RuleEnvName, "%q is not a variable name", short(k))
		case envDenied(k):
			return refuse(RuleEnvDenied, "%s changes what programs load or run and may never be set", k)
		case !slices.Contains(p.EnvAllow, k):
			return refuse(RuleEnvNotAllowed, "%s is not in the target's env_allow", k)
		case len(v) > p.MaxArgBytes:
			return refuse(RuleEnvValue, "%s is %d bytes, more than the %d allowed", k, len(v), p.MaxArgBytes)
		case strings.IndexFunc(v, isControl) >= 0:
			return refuse(RuleEnvValue, "%s holds a control character", k)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkPathArg refuses arguments (or --flag=values) that name a path
// outside the release directory.
func (p *Policy) checkPathArg(a string) string {
	vals := []string{a}
	if _, v, ok := strings.Cut(a, "="); ok {
		vals = append(vals, v)
	}
	for _, v := range vals {
		switch {
		case strings.HasPrefix(v, "~"):
			return "names a home directory"
		case strings.HasPrefix(v, "/") && !p.allowedAbs(v):
			return "is an absolute path outside the release directory"
		case escapes(v):
			return "leaves the release directory with '..'"
		case strings.Contains(v, "://") && strings.HasPrefix(strings.ToLower(v), "file://"):
			return "is a file URL"
		}
	}
	return ""
}

func (p *Policy) allowedAbs(v string) bool {
	clean := path.Clean(v)
	for _, a := range p.AllowedPaths {
		if clean == a || strings.HasPrefix(clean, strings.TrimSuffix(a, "/")+"/") {
			return true
		}
	}
	return false
}

// escapes reports whether a relative path has a ".." element (also with
// backslashes, which some programs treat as separators).
func escapes(s string) bool {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return true
		}
	}
	return false
}

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// CheckFiles refuses a command whose program or path arguments resolve,
// through symlinks, outside root (the release directory). It reads only
// through root (os.Root refuses escapes); arguments that name nothing in
// the release are left to Check's lexical rules.
func CheckFiles(root *os.Root, c Command) error {
	dir := c.Dir
	if dir == "" {
		dir = "."
	}
	if _, err := root.Stat(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &Refusal{Step: c.Step, Rule: RuleSymlink, Detail: fmt.Sprintf("working directory %q resolves outside the release directory", short(dir))}
	}
	for i, a := range c.Argv {
		if i == 0 && !strings.Contains(a, "/") {
			continue // an allowed program found on PATH
		}
		name := path.Join(dir, a)
		if _, v, ok := strings.Cut(a, "="); ok && i > 0 {
			name = path.Join(dir, v)
		}
		if strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
			continue
		}
		if _, err := root.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			continue // not a file of the release
		} else if err != nil {
			return &Refusal{Step: c.Step, Rule: RuleSymlink, Detail: fmt.Sprintf("argument %d %q resolves outside the release directory", i, short(a))}
		}
		if _, err := root.Stat(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &Refusal{Step: c.Step, Rule: RuleSymlink, Detail: fmt.Sprintf("argument %d %q resolves outside the release directory", i, short(a))}
		} else if err != nil {
			return &Refusal{Step: c.Step, Rule: RuleSymlink, Detail: fmt.Sprintf("argument %d %q is a dangling link", i, short(a))}
		}
	}
	return nil
}

// deniedRE returns the compiled denied patterns: those Validate compiled,
// or (on a policy never validated) compiled now; an invalid pattern
// matches everything, so a broken policy refuses rather than allows.
func (p *Policy) deniedRE() []*regexp.Regexp {
	if len(p.denied) == len(p.DeniedPatterns) {
		return p.denied
	}
	out := make([]*regexp.Regexp, 0, len(p.DeniedPatterns))
	for _, pat := range p.DeniedPatterns {
		re, err := regexp.Compile(pat)
		if err != nil {
			re = regexp.MustCompile(``)
		}
		out = append(out, re)
	}
	return out
}
