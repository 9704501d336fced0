// Package stacktest starts the pieces of a real stack that modules'
// integration tests share: a migrated database and a worker running in the
// test process against the dev server. Tests get the servers themselves
// from internal/testenv.
package stacktest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"contextworker/internal/config"
	"contextworker/internal/pg"
	"contextworker/registry"
	"contextworker/worker"
)

// DB connects to dsn, applies the migrations and closes the pool when the
// test ends.
func DB(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	db, err := pg.Connect(ctx, dsn, 8, 30*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := pg.Migrate(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

// Worker runs a worker for reg's modules, configured by yml (a
// temporal.yaml), against the Temporal server at hostPort (namespace ns)
// and the database dsn, until the test ends. It returns once the worker
// polls.
func Worker(t testing.TB, reg *registry.Registry, yml, hostPort, ns, dsn string) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yml), reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Temporal.Address, cfg.Temporal.Namespace = hostPort, ns
	cfg.Worker.ShutdownTimeout = 5 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return dsn, true
		}
		return os.LookupEnv(k) // other secret refs (payload keys) from t.Setenv
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- worker.Run(ctx, worker.Options{
			Config: cfg, Modules: reg.Modules(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Env: env, Ready: func() { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("worker: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// Plan returns the plan of query (EXPLAIN without costs) with args, planned
// in a transaction that first runs settings (SET LOCAL statements, or ""):
// a test's tables are tiny, and only without the cheaper plans does the
// planner show whether it can use an index at all.
func Plan(t testing.TB, db *pgxpool.Pool, settings, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	var plan strings.Builder
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if settings != "" {
			if _, err := tx.Exec(ctx, settings); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, "EXPLAIN (COSTS OFF) "+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan.WriteString(line + "\n")
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("plan of %s: %v", query, err)
	}
	return plan.String()
}

// Indent prefixes every line of s with pad, for nesting YAML.
func Indent(s, pad string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pad + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// SaveHistory writes the history of workflow id's run (the current run
// when runID is "") to path as JSON, the format of `temporal workflow show
// --output json` that the replay test reads (docs/replay.md).
func SaveHistory(t testing.TB, tc client.Client, id, runID, path string) {
	t.Helper()
	it := tc.GetWorkflowHistory(t.Context(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("stacktest: history of %s: %v", id, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s into %s", len(h.Events), id, path)
}
