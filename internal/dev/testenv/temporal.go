package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"contextworker/internal/dev/devserver"
)

// TemporalNamespace is the namespace the dev server registers at start.
const TemporalNamespace = "default"

var (
	temporalOnce     sync.Once
	temporalHostPort string
	temporalErr      error
)

// Temporal returns the frontend address (host:port) and namespace of a
// Temporal dev server started once per test binary from <repo>/bin/temporal,
// with the platform's search attributes (internal/searchattr) registered. Safe for parallel tests.
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
	state, err := stateDir()
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(state, "temporal.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("create Temporal dev server log: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	server, err := devserver.Start(ctx, devserver.Options{Exe: exe, Namespace: TemporalNamespace, LogLevel: "error", Log: logFile})
	if err != nil {
		_ = logFile.Close()
		return "", fmt.Errorf("%w\n%s tail:\n%s", err, logPath, fileTail(logPath, 30))
	}
	logf("Temporal dev server ready on %s in %s", server.HostPort, time.Since(began).Round(time.Millisecond))

	// Record the pid so that a later binary can reap the server if this one
	// crashes; the SDK keeps its process to itself.
	if server.PID != 0 {
		if err := os.WriteFile(filepath.Join(state, temporalPIDFile), []byte(strconv.Itoa(server.PID)), 0o644); err != nil {
			logf("cannot record Temporal dev server pid: %v", err)
		}
	}
	onShutdown("Temporal dev server", func(ctx context.Context) error {
		defer logFile.Close()
		return server.Stop(ctx)
	})
	return server.HostPort, nil
}

// quietLogger keeps the SDK's informational chatter out of test output.
func quietLogger() sdklog.Logger { return devserver.QuietLogger() }

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
