package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"contextworker/internal/dev/devserver"
	"contextworker/internal/dev/testenv"
)

// ownDevServer starts a dev server of this test's own that persists to
// dbFile, so the test can read what Temporal stored; it stops at cleanup.
// (testenv's shared server keeps its state in memory.)
func ownDevServer(t *testing.T, dbFile string) string {
	t.Helper()
	testenv.Integration(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{
		Exe:      filepath.Join(testenv.RepoRoot(t), "bin", "temporal"),
		DBFile:   dbFile,
		LogLevel: "error",
		Log:      logFile,
	})
	if err != nil {
		// The log is in a temporary directory that goes with the test:
		// its end says why the server never answered (it failed once in
		// a make test, refusing connections for a minute).
		logged, _ := os.ReadFile(logFile.Name())
		if len(logged) > 4000 {
			logged = logged[len(logged)-4000:]
		}
		t.Fatalf("start dev server: %v\nthe end of its log:\n%s", err, logged)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
		_ = logFile.Close()
	})
	return srv.HostPort
}
