package gardener

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
)

// TestRefreshStatisticsAnalysesWhatChanged fills the marks of a run and
// checks that refreshStatistics analyses them once the counters show it
// (and nothing fails), while the untouched group members are left alone;
// for a sparse run, at once.
func TestRefreshStatisticsAnalysesWhatChanged(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	if _, err := db.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, full_run, status, watermark_to)
		VALUES ('r1', 'gardener/t', 't', true, 'running', now());
		INSERT INTO gardener_marks (run_id, name, key) SELECT 'r1', 'm', g::text FROM generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	waitForChanges(t, db, "gardener_marks", 5000)
	var logs bytes.Buffer
	a := &Activities{DB: db, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	a.refreshStatistics(ctx, false)
	if logs.Len() > 0 {
		t.Fatalf("refreshStatistics logged: %s", logs.String())
	}
	// ANALYZE reports to the cumulative statistics at once.
	var marks, members int64
	if err := db.QueryRow(ctx, `SELECT (SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'gardener_marks'),
		(SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'product_group_members')`).Scan(&marks, &members); err != nil {
		t.Fatal(err)
	}
	if marks != 1 || members != 0 {
		t.Fatalf("ANALYZE ran on gardener_marks %d times (want 1), on product_group_members %d times (want 0)", marks, members)
	}
	// A sparse run's marks are analysed at once, whatever the counters say.
	a.refreshStatistics(ctx, true)
	if err := db.QueryRow(ctx, `SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'gardener_marks'`).Scan(&marks); err != nil {
		t.Fatal(err)
	}
	if marks != 2 || logs.Len() > 0 {
		t.Fatalf("after a sparse run's refresh, ANALYZE ran on gardener_marks %d times, want 2 (logged: %s)", marks, logs.String())
	}
}

// TestRefreshStatisticsLeavesEnrichmentsFresh: once analysed, enrichments
// is not analysed again until it changes. An ANALYZE of some columns left
// its count of changes as it was, so every run analysed it again (and
// waited a second for autovacuum, then cancelled it).
func TestRefreshStatisticsLeavesEnrichmentsFresh(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	if _, err := db.Exec(ctx, `INSERT INTO enrichments (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
		SELECT 't', 's', g::text, 'brand', '"Acme"', 'brand', '1', 'r1' FROM generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	waitForChanges(t, db, "enrichments", 5000)
	var logs bytes.Buffer
	a := &Activities{DB: db, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 2 {
		a.refreshStatistics(ctx, false)
	}
	var analyses, mods int64
	if err := db.QueryRow(ctx, `SELECT analyze_count, n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'enrichments'`).Scan(&analyses, &mods); err != nil {
		t.Fatal(err)
	}
	if analyses != 1 || mods != 0 || logs.Len() > 0 {
		t.Fatalf("after two refreshes: enrichments analysed %d times (want 1), %d changes since (want 0); logged: %s", analyses, mods, logs.String())
	}
}

// waitForChanges waits until pg_stat_user_tables counts at least n changes
// to table since its last analysis. The cumulative statistics reach it
// within a second or so of the commit; a new backend sees them once
// flushed.
func waitForChanges(t *testing.T, db *pgxpool.Pool, table string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var mods int64
		if err := db.QueryRow(context.Background(), `SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&mods); err != nil {
			t.Fatal(err)
		}
		if mods >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d changes seen, want %d", table, mods, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
