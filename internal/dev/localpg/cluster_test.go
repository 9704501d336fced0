package localpg_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/localpg"
)

// integration skips under -short. It does not use testenv, which imports
// this package.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL server binaries; skipped with -short")
	}
}

// dataDir returns a fresh, not yet existing data directory for a test.
//
// As root the server runs as the OS user postgres, which must be able to
// traverse every parent of the data directory. t.TempDir's top directory is
// created 0700 by os.MkdirTemp, so we add the search bit (o+x, not read) to
// the components between os.TempDir() and the data directory; the testing
// package still removes them at cleanup.
func dataDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if os.Geteuid() == 0 {
		top := filepath.Clean(os.TempDir())
		for d := base; d != top && filepath.Dir(d) != d; d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil {
				t.Fatalf("stat %s: %v", d, err)
			}
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				t.Fatalf("chmod o+x %s: %v", d, err)
			}
		}
	}
	return filepath.Join(base, "pg")
}

func startCluster(t *testing.T, dir string) *localpg.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := localpg.Start(ctx, localpg.Options{Dir: dir, Fast: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %s", time.Since(began).Round(time.Millisecond))
	// Registered after t.TempDir's removal, so it runs before it.
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop at cleanup: %v", err)
		}
	})
	return c
}

func selectOne(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "select 1").Scan(&one)
}

func TestClusterLifecycle(t *testing.T) {
	integration(t)
	ctx := t.Context()
	dir := dataDir(t)

	c := startCluster(t, dir)
	if c.Port() == 0 {
		t.Fatal("Port() = 0 after Start")
	}
	for range 2 { // the second call proves CreateDatabase is idempotent
		if err := c.CreateDatabase(ctx, "app"); err != nil {
			t.Fatalf("CreateDatabase: %v", err)
		}
	}
	if err := selectOne(ctx, c.DSN("app")); err != nil {
		t.Fatalf("select 1 on %s: %v", c.DSN("app"), err)
	}

	// A second Start on the running cluster reuses it and must not stop it.
	reused := startCluster(t, dir)
	if !c.Owned() || reused.Owned() {
		t.Errorf("Owned: %t for the cluster started, %t for the one reused", c.Owned(), reused.Owned())
	}
	if reused.Port() != c.Port() {
		t.Errorf("reused cluster port = %d, want %d", reused.Port(), c.Port())
	}
	if err := reused.Stop(ctx); err != nil {
		t.Fatalf("Stop of the reused cluster: %v", err)
	}
	if err := selectOne(ctx, c.DSN("app")); err != nil {
		t.Fatalf("server gone after Stop of a cluster that did not own it: %v", err)
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := selectOne(ctx, c.DSN("app")); err == nil {
		t.Fatal("server still accepts connections after Stop")
	}

	// Restarting an existing, stopped cluster keeps its databases.
	restarted := startCluster(t, dir)
	if err := selectOne(ctx, restarted.DSN("app")); err != nil {
		t.Fatalf("database lost across restart: %v", err)
	}
}

func TestStartRefusesForeignDir(t *testing.T) {
	integration(t)
	dir := dataDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := localpg.Start(t.Context(), localpg.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "neither empty nor a PostgreSQL data directory") {
		t.Fatalf("Start on a foreign dir: err = %v, want a refusal", err)
	}
}

func TestStartUnsearchableParent(t *testing.T) {
	integration(t)
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to another OS user")
	}
	locked := t.TempDir() // os.MkdirTemp: 0700, root-owned
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := localpg.Start(t.Context(), localpg.Options{Dir: filepath.Join(locked, "pg")})
	if err == nil || !strings.Contains(err.Error(), "not searchable") {
		t.Fatalf("Start below a 0700 dir: err = %v, want a not searchable error", err)
	}
}

func TestStartFailureShowsServerLog(t *testing.T) {
	integration(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port

	_, err = localpg.Start(t.Context(), localpg.Options{Dir: dataDir(t), Port: taken, Fast: true})
	if err == nil {
		t.Fatalf("Start on taken port %d succeeded", taken)
	}
	// The server's own words, from the log tail, must reach the caller.
	if !strings.Contains(err.Error(), "postgres.log tail:") || !strings.Contains(err.Error(), "could not bind") {
		t.Fatalf("Start error lacks the server log tail:\n%v", err)
	}
	t.Logf("error as the caller sees it:\n%v", err)
}
