package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testPolicy(t *testing.T) *Policy {
	t.Helper()
	p := Default()
	p.AllowedPrograms = []string{"python3", "go", "make", "git", "node", "find", "tar", "cat"}
	p.AllowReleasePrograms = true
	p.EnvAllow = []string{"GREETING", "PORT", "APP_MODE"}
	p.AllowedPaths = []string{"/usr/share/dict"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestCheckAllows(t *testing.T) {
	p := testPolicy(t)
	for name, c := range map[string]Command{
		"interpreter with a file":  {Argv: []string{"python3", "app.py", "--port=8080"}},
		"python module":            {Argv: []string{"python3", "-m", "py_compile", "app.py"}},
		"go build":                 {Argv: []string{"go", "build", "-o", "bin/app", "./..."}},
		"release program":          {Argv: []string{"./bin/app", "--greeting", "hello world"}},
		"allowed absolute path":    {Argv: []string{"cat", "/usr/share/dict/words"}},
		"allowed env":              {Argv: []string{"python3", "app.py"}, Env: map[string]string{"GREETING": "hi there", "PORT": "8080"}},
		"subdirectory":             {Argv: []string{"make", "build"}, Dir: "web"},
		"a dotted name, not a dir": {Argv: []string{"cat", "a..b.txt"}},
	} {
		if err := p.Check(c); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}

// TestCheckRefuses is the injection and escape table: every attempt is
// refused, by the rule named.
func TestCheckRefuses(t *testing.T) {
	p := testPolicy(t)
	huge := strings.Repeat("A", 5000)
	many := make([]string, 70)
	for i := range many {
		many[i] = "x"
	}
	many[0] = "python3"
	tests := []struct {
		name string
		cmd  Command
		rule string
	}{
		{"semicolon", Command{Argv: []string{"python3", "app.py;rm", "-rf", "x"}}, RuleArgShell},
		{"and-and", Command{Argv: []string{"python3", "app.py", "&&", "curl", "evil"}}, RuleArgShell},
		{"or-or", Command{Argv: []string{"python3", "a.py", "||", "id"}}, RuleArgShell},
		{"pipe", Command{Argv: []string{"cat", "a.txt|nc"}}, RuleArgShell},
		{"command substitution", Command{Argv: []string{"python3", "$(id)"}}, RuleArgShell},
		{"backticks", Command{Argv: []string{"python3", "`id`"}}, RuleArgShell},
		{"variable expansion", Command{Argv: []string{"cat", "${HOME}"}}, RuleArgShell},
		{"redirect out", Command{Argv: []string{"cat", "a", ">", "b"}}, RuleArgShell},
		{"redirect in", Command{Argv: []string{"cat", "<secret"}}, RuleArgShell},
		{"background", Command{Argv: []string{"python3", "app.py&"}}, RuleArgShell},
		{"newline", Command{Argv: []string{"python3", "app.py\nid"}}, RuleArgControl},
		{"carriage return", Command{Argv: []string{"python3", "app.py\rid"}}, RuleArgControl},
		{"NUL byte", Command{Argv: []string{"cat", "a\x00b"}}, RuleArgControl},
		{"tab", Command{Argv: []string{"cat", "a\tb"}}, RuleArgControl},
		{"escape char", Command{Argv: []string{"cat", "\x1b[2J"}}, RuleArgControl},
		{"dot-dot", Command{Argv: []string{"cat", "../../etc/passwd"}}, RuleArgPath},
		{"dot-dot inside", Command{Argv: []string{"cat", "static/../../x"}}, RuleArgPath},
		{"dot-dot backslash", Command{Argv: []string{"cat", `..\..\x`}}, RuleArgPath},
		{"dot-dot in flag value", Command{Argv: []string{"go", "build", "-o=../out"}}, RuleArgPath},
		{"absolute path", Command{Argv: []string{"cat", "/etc/shadow"}}, RuleArgPath},
		{"absolute in flag value", Command{Argv: []string{"go", "build", "--output=/tmp/x"}}, RuleArgPath},
		{"allowed prefix trick", Command{Argv: []string{"cat", "/usr/share/dictionary"}}, RuleArgPath},
		{"home dir", Command{Argv: []string{"cat", "~root/.profile"}}, RuleArgPath},
		{"file URL", Command{Argv: []string{"git", "clone", "file://etc"}}, RuleArgPath},
		{"absolute program", Command{Argv: []string{"/bin/sh", "x"}}, RuleProgramPath},
		{"program escapes", Command{Argv: []string{"../../bin/id"}}, RuleProgramPath},
		{"program from home", Command{Argv: []string{"~/bin/x"}}, RuleProgramPath},
		{"shell", Command{Argv: []string{"sh", "run.sh"}}, RuleProgramNever},
		{"bash in release", Command{Argv: []string{"./bash"}}, RuleProgramNever},
		{"env runner", Command{Argv: []string{"env", "python3", "app.py"}}, RuleProgramNever},
		{"sudo", Command{Argv: []string{"sudo", "python3"}}, RuleProgramNever},
		{"xargs", Command{Argv: []string{"xargs", "rm"}}, RuleProgramNever},
		{"not allowed", Command{Argv: []string{"curl", "http://evil"}}, RuleProgram},
		{"rm", Command{Argv: []string{"rm", "-rf", "."}}, RuleProgram},
		{"python -c", Command{Argv: []string{"python3", "-c", "import os"}}, RuleInlineCode},
		{"python -c glued", Command{Argv: []string{"python3", "-cimport os"}}, RuleInlineCode},
		{"node -e", Command{Argv: []string{"node", "-e", "require('child_process')"}}, RuleInlineCode},
		{"node --eval=", Command{Argv: []string{"node", "--eval=1"}}, RuleInlineCode},
		{"git -c", Command{Argv: []string{"git", "-c", "core.pager=id", "log"}}, RuleInlineCode},
		{"find -exec", Command{Argv: []string{"find", ".", "-exec", "id", "{}"}}, RuleInlineCode},
		{"tar to-command", Command{Argv: []string{"tar", "-xf", "a.tar", "--to-command=id"}}, RuleInlineCode},
		{"git upload-pack", Command{Argv: []string{"git", "fetch", "--upload-pack=id"}}, RuleDenied},
		{"ssh keys", Command{Argv: []string{"cat", ".ssh/authorized_keys"}}, RuleDenied},
		{"private key name", Command{Argv: []string{"cat", "id_ed25519"}}, RuleDenied},
		{"huge argument", Command{Argv: []string{"python3", huge}}, RuleArgSize},
		{"too many arguments", Command{Argv: many}, RuleArgvCount},
		{"empty argv", Command{Argv: nil}, RuleArgvEmpty},
		{"empty program", Command{Argv: []string{""}}, RuleArgvEmpty},
		{"cwd escape", Command{Argv: []string{"make"}, Dir: "../other"}, RuleDir},
		{"cwd absolute", Command{Argv: []string{"make"}, Dir: "/etc"}, RuleDir},
		{"LD_PRELOAD", Command{Argv: []string{"python3", "app.py"}, Env: map[string]string{"LD_PRELOAD": "evil.so"}}, RuleEnvDenied},
		{"LD_LIBRARY_PATH", Command{Argv: []string{"python3", "app.py"}, Env: map[string]string{"LD_LIBRARY_PATH": "."}}, RuleEnvDenied},
		{"PATH", Command{Argv: []string{"python3", "app.py"}, Env: map[string]string{"PATH": "."}}, RuleEnvDenied},
		{"lowercase path", Command{Argv: []string{"python3", "app.py"}, Env: map[string]string{"path": "."}}, RuleEnvDenied},
		{"PYTHONPATH", Command{Argv: []string{"python3", "app.py"}, Env: map[string]string{"PYTHONPATH": "."}}, RuleEnvDenied},
		{"NODE_OPTIONS", Command{Argv: []string{"node", "app.js"}, Env: map[string]string{"NODE_OPTIONS": "--require=x"}}, RuleEnvDenied},
		{"BASH_ENV", Command{Argv: []string{"make"}, Env: map[string]string{"BASH_ENV": "x"}}, RuleEnvDenied},
		{"env not allowed", Command{Argv: []string{"make"}, Env: map[string]string{"SECRET_MODE": "x"}}, RuleEnvNotAllowed},
		{"env bad name", Command{Argv: []string{"make"}, Env: map[string]string{"A=B": "x"}}, RuleEnvName},
		{"env newline value", Command{Argv: []string{"make"}, Env: map[string]string{"GREETING": "a\nb"}}, RuleEnvValue},
		{"env huge value", Command{Argv: []string{"make"}, Env: map[string]string{"GREETING": huge}}, RuleEnvValue},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d attempts", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cmd.Step = "build"
			err := p.Check(tt.cmd)
			var r *Refusal
			if !errors.As(err, &r) || !errors.Is(err, ErrRefused) {
				t.Fatalf("not refused: %v", err)
			}
			if r.Rule != tt.rule || r.Step != "build" || !strings.Contains(err.Error(), "rule "+tt.rule) {
				t.Errorf("refused by %q (%v), want rule %q", r.Rule, err, tt.rule)
			}
		})
	}
}

func TestCheckPlanAll(t *testing.T) {
	p := testPolicy(t)
	err := p.CheckPlan([]Command{
		{Step: "build", Argv: []string{"python3", "-m", "py_compile", "app.py"}},
		{Step: "test", Argv: []string{"python3", "t.py;id"}},
		{Step: "start", Argv: []string{"sh", "-c", "python3 app.py"}},
	})
	if err == nil || !strings.Contains(err.Error(), "step test (rule arg.shell)") || !strings.Contains(err.Error(), "step start (rule program.never)") {
		t.Errorf("CheckPlan = %v, want both refusals", err)
	}
	big := make([]Command, p.MaxCommands+1)
	if err := p.CheckPlan(big); err == nil || !strings.Contains(err.Error(), RulePlanSize) {
		t.Errorf("oversized plan: %v", err)
	}
}

func TestCheckFilesSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "app.py"), []byte("print(1)"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "bin"), 0o755))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "leak")))
	must(os.Symlink(outside, filepath.Join(dir, "bin", "out")))
	must(os.Symlink("app.py", filepath.Join(dir, "inside")))
	must(os.Symlink("nowhere", filepath.Join(dir, "dangling")))
	root, err := os.OpenRoot(dir)
	must(err)
	t.Cleanup(func() { root.Close() })

	for _, ok := range []Command{
		{Argv: []string{"python3", "app.py"}},
		{Argv: []string{"cat", "inside"}},
		{Argv: []string{"python3", "not-yet-built.py"}},
	} {
		if err := CheckFiles(root, ok); err != nil {
			t.Errorf("%q refused: %v", ok.Argv, err)
		}
	}
	for _, bad := range []Command{
		{Argv: []string{"cat", "leak"}},
		{Argv: []string{"./bin/out/secret"}},
		{Argv: []string{"cat", "secret"}, Dir: "bin/out"},
		{Argv: []string{"python3", "--file=leak"}},
		{Argv: []string{"cat", "dangling"}},
	} {
		err := CheckFiles(root, bad)
		var r *Refusal
		if !errors.As(err, &r) || r.Rule != RuleSymlink {
			t.Errorf("%q (dir %q): %v, want a %s refusal", bad.Argv, bad.Dir, err, RuleSymlink)
		}
	}
}

func TestValidate(t *testing.T) {
	p := Default()
	p.AllowedPrograms = []string{"bash", "/usr/bin/python3", "go"}
	p.DeniedPatterns = []string{"("}
	p.EnvAllow = []string{"LD_PRELOAD", "PATH", "OK"}
	p.AllowedPaths = []string{"/", "relative"}
	p.Path = []string{"bin"}
	p.MaxOutputBytes = 1
	err := p.Validate()
	for _, want := range []string{
		`allowed_programs[0]: "bash" runs other commands`,
		`allowed_programs[1]: "/usr/bin/python3" must be a bare program name`,
		`denied_patterns[0]:`,
		`env_allow[0]: "LD_PRELOAD"`, `env_allow[1]: "PATH"`,
		`allowed_paths[0]`, `allowed_paths[1]`, `path[0]`, `max_output_bytes`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: missing %q in %v", want, err)
		}
	}
}
