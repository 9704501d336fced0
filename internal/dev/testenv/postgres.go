package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/localpg"
)

// DatabaseURLEnv names the variable that points the tests at an existing
// PostgreSQL server instead of a private cluster, e.g. in CI. The role needs
// CREATEDB; testenv creates and drops only cw_test_* databases there.
const DatabaseURLEnv = "CW_TEST_DATABASE_URL"

// pgServer is where test databases are created.
type pgServer struct {
	admin string                 // DSN for CREATE/DROP DATABASE
	dsn   func(db string) string // DSN of database db
}

var (
	pgOnce sync.Once
	pg     pgServer
	pgErr  error
)

// Postgres returns the DSN of a fresh, empty database for the calling test,
// dropped at the test's cleanup. The server is $CW_TEST_DATABASE_URL if set,
// otherwise a private cluster started once per test binary. Safe for
// parallel tests.
func Postgres(tb testing.TB) string {
	tb.Helper()
	Integration(tb)
	requireMain(tb)
	pgOnce.Do(func() { pg, pgErr = startPostgres() })
	if pgErr != nil {
		tb.Fatalf("testenv: %v", pgErr)
	}

	name := databaseName()
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, pg.admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("testenv: create test database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// tb.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a pool the test forgot to close must not keep it alive.
		if err := adminExec(ctx, pg.admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("testenv: drop test database %s: %v", name, err)
		}
	})
	return pg.dsn(name)
}

// startPostgres picks the external server or starts the private cluster.
func startPostgres() (pgServer, error) {
	if external := os.Getenv(DatabaseURLEnv); external != "" {
		logf("using PostgreSQL from $%s", DatabaseURLEnv)
		return pgServer{admin: external, dsn: func(db string) string { return withDatabase(external, db) }}, nil
	}
	state, err := stateDir()
	if err != nil {
		return pgServer{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	cluster, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(state, "pg"), Fast: true, Logf: logf})
	if err != nil {
		return pgServer{}, fmt.Errorf("start private PostgreSQL (hint: set %s to use an existing server): %w", DatabaseURLEnv, err)
	}
	logf("private PostgreSQL ready on port %d in %s", cluster.Port(), time.Since(began).Round(time.Millisecond))
	onShutdown("private PostgreSQL", cluster.Stop)
	return pgServer{admin: cluster.DSN("postgres"), dsn: cluster.DSN}, nil
}

// adminExec runs one statement on a short-lived connection; CREATE and DROP
// DATABASE cannot run inside a transaction or share a busy connection.
func adminExec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseName returns cw_test_<package>_<random>, at most 63 bytes (the
// PostgreSQL identifier limit). The package comes from the test binary's
// name ("harvest.test"), so leftovers in a shared server name their owner.
func databaseName() string {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	var b strings.Builder
	for _, r := range strings.ToLower(pkg) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	pkg = b.String()
	if pkg == "" {
		pkg = "pkg"
	}
	var random [5]byte
	_, _ = rand.Read(random[:]) // never returns an error since Go 1.24
	const fixed = len("cw_test__") + 2*len(random)
	if len(pkg) > 63-fixed {
		pkg = pkg[:63-fixed]
	}
	return "cw_test_" + pkg + "_" + hex.EncodeToString(random[:])
}

// withDatabase returns dsn, a URL or a keyword/value string, pointing at db.
func withDatabase(dsn, db string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path, u.RawPath = "/"+db, ""
			return u.String()
		}
	}
	return dsn + " dbname=" + db // the last dbname wins; db needs no quoting
}
