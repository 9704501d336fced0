package worker

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/localpg"
	"contextworker/internal/dev/testenv"
)

// ownDevServer starts a dev server of this test's own that persists to
// dbFile, so the test can read what Temporal stored; it stops at cleanup.
// (testenv's shared server keeps its state in memory.)
func ownDevServer(t *testing.T, dbFile string) string {
	t.Helper()
	testenv.Integration(t)
	port, err := localpg.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logFile, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  filepath.Join(testenv.RepoRoot(t), "bin", "temporal"),
		ClientOptions: &client.Options{HostPort: hostPort, Namespace: "default"},
		DBFilename:    dbFile,
		LogLevel:      "error",
		Stdout:        logFile,
		Stderr:        logFile,
	})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Cleanup(func() {
		srv.Client().Close()
		_ = srv.Stop()
		_ = logFile.Close()
	})
	return hostPort
}
