package testenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/localpg"
	"contextworker/internal/searchattr"
)

// TemporalNamespace is the namespace the dev server registers at start.
const TemporalNamespace = "default"

// SearchAttributes are the custom search attributes registered on the dev
// server, as the CLI's --search-attribute NAME=TYPE takes them. They must
// match what the worker's workflows upsert.
var SearchAttributes = searchattr.Names

var (
	temporalOnce     sync.Once
	temporalHostPort string
	temporalErr      error
)

// Temporal returns the frontend address (host:port) and namespace of a
// Temporal dev server started once per test binary from <repo>/bin/temporal,
// with the custom SearchAttributes registered. Safe for parallel tests.
func Temporal(tb testing.TB) (hostPort, namespace string) {
	tb.Helper()
	Integration(tb)
	requireMain(tb)
	exe := filepath.Join(RepoRoot(tb), "bin", "temporal")
	temporalOnce.Do(func() { temporalHostPort, temporalErr = startTemporal(exe) })
	if temporalErr != nil {
		tb.Fatalf("testenv: %v", temporalErr)
	}
	return temporalHostPort, TemporalNamespace
}

// TemporalClient returns a client of the dev server, closed at the test's
// cleanup.
func TemporalClient(tb testing.TB) client.Client {
	tb.Helper()
	hostPort, namespace := Temporal(tb)
	c, err := client.DialContext(tb.Context(), client.Options{HostPort: hostPort, Namespace: namespace, Logger: quietLogger()})
	if err != nil {
		tb.Fatalf("testenv: dial Temporal dev server at %s: %v", hostPort, err)
	}
	tb.Cleanup(c.Close)
	return c
}

// startTemporal starts the dev server and registers its shutdown.
func startTemporal(exe string) (string, error) {
	if _, err := os.Stat(exe); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("temporal CLI %s is missing: run `make bin/temporal` first", exe)
	} else if err != nil {
		return "", fmt.Errorf("temporal CLI %s: %w", exe, err)
	}
	state, err := stateDir()
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(state, "temporal.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("create Temporal dev server log: %w", err)
	}
	// The CLI picks free ports for its HTTP API and metrics itself.
	port, err := localpg.FreePort()
	if err != nil {
		_ = logFile.Close()
		return "", err
	}
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var args []string
	for _, sa := range SearchAttributes {
		args = append(args, "--search-attribute", sa)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	// The UI stays off: StartDevServer passes --headless unless EnableUI.
	server, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  exe,
		ClientOptions: &client.Options{HostPort: hostPort, Namespace: TemporalNamespace, Logger: quietLogger()},
		LogLevel:      "error",
		ExtraArgs:     args,
		Stdout:        logFile,
		Stderr:        logFile,
	})
	if err != nil {
		// The SDK gives up waiting but leaves a started process running.
		if pid := findChild("start-dev", strconv.Itoa(port)); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = logFile.Close()
		return "", fmt.Errorf("start Temporal dev server %s on %s: %w\n%s tail:\n%s", exe, hostPort, err, logPath, fileTail(logPath, 30))
	}
	logf("Temporal dev server ready on %s in %s", hostPort, time.Since(began).Round(time.Millisecond))

	// Record the pid so that a later binary can reap the server if this one
	// crashes; the SDK keeps its process to itself.
	pid := findChild("start-dev", strconv.Itoa(port))
	if pid != 0 {
		if err := os.WriteFile(filepath.Join(state, temporalPIDFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			logf("cannot record Temporal dev server pid: %v", err)
		}
	}
	onShutdown("Temporal dev server", func(ctx context.Context) error {
		server.Client().Close()
		done := make(chan error, 1)
		go func() { done <- server.Stop() }() // SIGINT, then wait
		defer logFile.Close()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
				return nil // the CLI may die of the SIGINT it was sent
			}
			return err
		case <-ctx.Done():
			if pid != 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return fmt.Errorf("dev server did not exit after SIGINT (killed pid %d): %w", pid, ctx.Err())
		}
	})
	return hostPort, nil
}

// quietLogger keeps the SDK's informational chatter out of test output.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// fileTail returns the last n lines of the file at path.
func fileTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
