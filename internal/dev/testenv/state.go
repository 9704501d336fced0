package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A test binary keeps its servers' files in a state directory
// $TMPDIR/cw-testenv-*, with an owner file holding its pid. Main removes it;
// a binary that crashed leaves it behind, and the next binary reaps it: it
// stops the recorded processes and removes the directory.
const (
	statePrefix     = "cw-testenv-"
	ownerFile       = "owner.pid"
	temporalPIDFile = "temporal.pid"
)

var (
	stateOnce sync.Once
	statePath string
	stateErr  error
)

// stateDir returns this binary's state directory, creating it (and reaping
// those of dead binaries) on first use.
func stateDir() (string, error) {
	stateOnce.Do(func() {
		reapLeftovers()
		dir, err := os.MkdirTemp("", statePrefix)
		if err != nil {
			stateErr = fmt.Errorf("create state dir: %w", err)
			return
		}
		// MkdirTemp makes it 0700; as root the PostgreSQL server runs as
		// another OS user, which must traverse it to reach its data dir.
		if err := os.Chmod(dir, 0o755); err != nil {
			stateErr = fmt.Errorf("chmod state dir %s: %w", dir, err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			stateErr = fmt.Errorf("write %s: %w", ownerFile, err)
			return
		}
		statePath = dir
		// Registered first, so it runs last: after the servers stopped.
		onShutdown("state dir", func(context.Context) error { return os.RemoveAll(dir) })
	})
	return statePath, stateErr
}

// reapLeftovers cleans up after test binaries that died without running
// Main's shutdown. It is best effort: what it cannot clean it reports.
func reapLeftovers() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), statePrefix+"*"))
	for _, dir := range dirs {
		owner, err := readPID(filepath.Join(dir, ownerFile))
		if err != nil || processAlive(owner) {
			continue // being set up right now, alive, or not ours
		}
		pgData := filepath.Join(dir, "pg")
		if pid, err := readPID(filepath.Join(pgData, "postmaster.pid")); err == nil && cwdIs(pid, pgData) {
			// SIGQUIT: immediate shutdown; the data is thrown away anyway.
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			waitGone(pid, 10*time.Second)
		}
		if pid, err := readPID(filepath.Join(dir, temporalPIDFile)); err == nil && cmdlineHas(pid, "start-dev") {
			_ = syscall.Kill(pid, syscall.SIGKILL) // in-memory dev server: nothing to save
			waitGone(pid, 10*time.Second)
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: remove leftover %s: %v\n", dir, err)
			continue
		}
		logf("reaped leftovers of dead test binary %d in %s", owner, dir)
	}
}

// readPID reads the pid on the first line of path.
func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad pid %q", path, first)
	}
	return pid, nil
}

// processAlive reports whether pid exists (EPERM: it exists, not ours).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// waitGone waits up to timeout for pid to exit. An exited process that its
// new parent (init) has not reaped yet counts as gone.
func waitGone(pid int, timeout time.Duration) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !processAlive(pid) || isZombie(pid) {
			return
		}
	}
}

// isZombie reports whether pid has exited but is not reaped yet.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndex(stat, []byte(") "))
	return i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

// cwdIs reports whether pid's working directory is dir: a postmaster runs
// in its data directory, so this tells it from an unrelated process that
// reused the pid.
func cwdIs(pid int, dir string) bool {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return err == nil && cwd == dir
}

// cmdline returns pid's arguments, or nil.
func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
}

// cmdlineHas reports whether pid was started with argument arg.
func cmdlineHas(pid int, arg string) bool {
	for _, a := range cmdline(pid) {
		if a == arg {
			return true
		}
	}
	return false
}
