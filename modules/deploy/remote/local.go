package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Local runs commands on this machine. Each runs in its own process
// group, which is killed (SIGKILL) on cancel, timeout or output cap, so no
// child outlives a cancelled step.
type Local struct{}

var _ Runner = Local{}

// Close implements Runner.
func (Local) Close() error { return nil }

// lookPath finds a bare program name on the command's own PATH (never the
// worker's), or resolves a relative program against dir.
func lookPath(prog, dir string, env []string) (string, error) {
	if strings.Contains(prog, "/") {
		if !filepath.IsAbs(prog) {
			prog = filepath.Join(dir, prog)
		}
		return prog, nil
	}
	var path string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		p := filepath.Join(d, prog)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("run: program %q not found on PATH %q", prog, path)
}

// Run implements Runner.
func (Local) Run(ctx context.Context, c Command) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{ExitCode: -1}, errors.New("run: empty argv")
	}
	prog, err := lookPath(c.Argv[0], c.Dir, c.Env)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	out := newOutput(c.MaxOutput)
	var res Result
	cmd := exec.CommandContext(ctx, prog, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Dir, cmd.Env, cmd.Stdin = c.Dir, append([]string{}, c.Env...), c.Stdin
	cmd.Stdout, cmd.Stderr = stream{out, &res.StdoutBytes}, stream{out, &res.StderrBytes}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Argv[0], err)
	}
	go func() {
		select {
		case <-out.over:
			stop(ErrOutputCap)
		case <-ctx.Done():
		}
	}()
	// A cancel or timeout kills the whole group while its leader lives
	// (cmd.Cancel). Once Wait has reaped the leader its pid may be reused,
	// so the group is never signalled after that.
	werr := cmd.Wait()
	res.Duration = time.Since(start)
	out.result(&res)
	res.ExitCode = cmd.ProcessState.ExitCode()
	if cause := context.Cause(ctx); cause != nil {
		res.ExitCode = -1
		switch {
		case errors.Is(cause, ErrOutputCap):
			return res, fmt.Errorf("run %s: %w (%d bytes)", c.Argv[0], ErrOutputCap, c.MaxOutput)
		case errors.Is(cause, context.DeadlineExceeded) && c.Timeout > 0 && res.Duration >= c.Timeout:
			return res, fmt.Errorf("run %s: %w after %s", c.Argv[0], ErrTimeout, c.Timeout)
		default:
			return res, fmt.Errorf("run %s: %w", c.Argv[0], cause)
		}
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) && !errors.Is(werr, exec.ErrWaitDelay) {
		return res, fmt.Errorf("run %s: %w", c.Argv[0], werr)
	}
	return res, nil
}
