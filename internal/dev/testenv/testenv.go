// Package testenv is the integration-test harness: it gives tests a fresh
// PostgreSQL database and a Temporal dev server, started once per test binary
// and stopped when the binary ends.
//
// It is imported only by _test.go files, never by production code, and it
// never touches a server it did not start except to create and drop its own
// cw_test_* databases there. Packages that use it call Main from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// shutdownTimeout bounds how long Main waits for the servers to stop.
const shutdownTimeout = time.Minute

var (
	// mainRan is set by Main; without it nothing would stop our servers.
	mainRan atomic.Bool

	stopsMu sync.Mutex
	stops   []stopFunc // run in reverse order by shutdown
	stopped bool
)

// stopFunc stops one thing testenv started.
type stopFunc struct {
	what string
	fn   func(ctx context.Context) error
}

// Main runs the package's tests, then stops whatever testenv started (the
// PostgreSQL cluster, the Temporal dev server) even when tests failed, and
// exits with the tests' code. An interrupt or SIGTERM also stops them.
// A crash (panic, -timeout) cannot be intercepted; the next test binary
// that uses testenv then reaps the leftovers.
func Main(m *testing.M) {
	mainRan.Store(true)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-signals
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "testenv: %v: stopping test servers\n", sig)
		if err := shutdown(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
		os.Exit(130)
	}()

	code := m.Run()
	signal.Stop(signals)
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1 // a server we could not stop is leaking: make it visible
		}
	}
	os.Exit(code)
}

// Integration skips the test under -short. Postgres and Temporal call it
// too, so a test that needs them is skipped, not failed, with -short.
func Integration(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs a Temporal dev server and PostgreSQL; skipped with -short")
	}
}

// RepoRoot returns the directory holding go.mod, walking up from the
// working directory (a package's directory under go test).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("testenv: find repo root: %v", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			tb.Fatalf("testenv: no go.mod in %s or any parent (hint: run the tests from inside the repository)", wd)
		}
	}
}

// requireMain fails the test if the package's TestMain does not call Main.
func requireMain(tb testing.TB) {
	tb.Helper()
	if !mainRan.Load() {
		tb.Fatalf("testenv: this package's TestMain must call testenv.Main, which stops the servers testenv starts " +
			"(hint: add `func TestMain(m *testing.M) { testenv.Main(m) }` to a _test.go file)")
	}
}

// onShutdown registers fn to run when the test binary ends.
func onShutdown(what string, fn func(ctx context.Context) error) {
	stopsMu.Lock()
	defer stopsMu.Unlock()
	stops = append(stops, stopFunc{what: what, fn: fn})
}

// shutdown runs the registered stops, newest first, once.
func shutdown() error {
	stopsMu.Lock()
	defer stopsMu.Unlock()
	if stopped {
		return nil
	}
	stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", stops[i].what, err))
		}
	}
	return errors.Join(errs...)
}

// logf reports progress under -v. It must not use a testing.TB: servers
// outlive the test that started them.
func logf(format string, args ...any) {
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "testenv: "+format+"\n", args...)
	}
}
