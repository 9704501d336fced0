package remote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"contextworker/internal/dev/sshd"
	"contextworker/modules/deploy/remote"
)

var cleanEnv = []string{"PATH=/usr/bin:/bin", "LANG=C"}

// runners returns the local runner and, unless -short, one over a real
// loopback sshd.
func runners(t *testing.T) map[string]remote.Runner {
	t.Helper()
	out := map[string]remote.Runner{"local": remote.Local{}}
	if testing.Short() {
		return out
	}
	srv := sshd.Start(t)
	r, err := remote.NewSSH(remote.SSHConfig{Addr: srv.Addr, User: srv.User, KnownHosts: srv.KnownHosts, PrivateKey: srv.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	out["ssh"] = r
	return out
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			// Hostile words stay literal: quoting keeps the remote shell out.
			words := []string{"a;id", "$(id)", "`id`", "it's", "x && y", "*", "", "new\nline"}
			res, err := r.Run(ctx, remote.Command{Argv: append([]string{"printf", "[%s]"}, words...), Dir: dir, Env: cleanEnv})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("printf: %+v %v", res, err)
			}
			if want := "[a;id][$(id)][`id`][it's][x && y][*][][new\nline]"; res.Tail != want {
				t.Errorf("output %q, want %q", res.Tail, want)
			}
			res, err = r.Run(ctx, remote.Command{Argv: []string{"env"}, Dir: dir, Env: append(cleanEnv, "GREETING=hi there")})
			if err != nil || strings.TrimSpace(res.Tail) != "PATH=/usr/bin:/bin\nLANG=C\nGREETING=hi there" {
				t.Errorf("environment is not exactly the given one: %q %v", res.Tail, err)
			}
			res, err = r.Run(ctx, remote.Command{Argv: []string{"pwd"}, Dir: dir, Env: cleanEnv})
			if err != nil || strings.TrimSpace(res.Tail) != dir {
				t.Errorf("pwd = %q %v, want %s", res.Tail, err, dir)
			}
			res, err = r.Run(ctx, remote.Command{Argv: []string{"cat"}, Dir: dir, Env: cleanEnv, Stdin: strings.NewReader("from stdin")})
			if err != nil || res.Tail != "from stdin" {
				t.Errorf("stdin: %q %v", res.Tail, err)
			}
			res, err = r.Run(ctx, remote.Command{Argv: []string{"ls", "no-such-file"}, Dir: dir, Env: cleanEnv})
			if err != nil || res.ExitCode != 2 || res.StderrBytes == 0 {
				t.Errorf("failing command: %+v %v, want exit 2 as a result", res, err)
			}
		})
	}
}

func TestRunBounds(t *testing.T) {
	dir := t.TempDir()
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			res, err := r.Run(ctx, remote.Command{Argv: []string{"head", "-c", "100000", "/dev/zero"}, Dir: dir, Env: cleanEnv})
			if err != nil || res.StdoutBytes != 100000 || len(res.Tail) != remote.TailBytes || !res.Truncated {
				t.Errorf("tail: %d bytes out, tail %d, truncated %v, %v", res.StdoutBytes, len(res.Tail), res.Truncated, err)
			}
			_, err = r.Run(ctx, remote.Command{Argv: []string{"yes"}, Dir: dir, Env: cleanEnv, MaxOutput: 1 << 16})
			if !errors.Is(err, remote.ErrOutputCap) {
				t.Errorf("endless output: %v, want ErrOutputCap", err)
			}
			_, err = r.Run(ctx, remote.Command{Argv: []string{"sleep", "30"}, Dir: dir, Env: cleanEnv, Timeout: 300 * time.Millisecond})
			if !errors.Is(err, remote.ErrTimeout) {
				t.Errorf("sleep past the timeout: %v, want ErrTimeout", err)
			}
		})
	}
}

// TestLocalKillsGroup: a cancelled command's children die with it.
func TestLocalKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	script := filepath.Join(dir, "spawn.py")
	if err := os.WriteFile(script, []byte("import subprocess,time\np=subprocess.Popen(['sleep','60'])\nopen('child.pid','w').write(str(p.pid))\ntime.sleep(60)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(pidfile); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err := remote.Local{}.Run(ctx, remote.Command{Argv: []string{"python3", "spawn.py"}, Dir: dir, Env: cleanEnv})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	b, _ := os.ReadFile(pidfile)
	var pid int
	for _, c := range string(b) {
		pid = pid*10 + int(c-'0')
	}
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child %d outlived the cancelled command", pid)
}

func TestLocalProgramFromOwnPath(t *testing.T) {
	_, err := remote.Local{}.Run(context.Background(), remote.Command{Argv: []string{"go", "version"}, Dir: t.TempDir(), Env: []string{"PATH=/nonexistent"}})
	if err == nil || !strings.Contains(err.Error(), `not found on PATH "/nonexistent"`) {
		t.Errorf("program looked up outside the command's PATH: %v", err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$(x)": "'$(x)'", "/a/b.c": "/a/b.c",
	} {
		if got := remote.Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
