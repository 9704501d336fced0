package gardener

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// batchOf is a batch of one product with one new field and one mark.
func batchOf(afterSupplier, afterSKU, sku string) *work {
	return &work{
		afterSupplier: afterSupplier, afterSKU: afterSKU,
		batch:  []*enrich.Product{{SupplierCode: "s", SKU: sku}},
		stored: make([]map[string]provenance, 1),
		delta:  delta{inserts: []field{{supplier: "s", sku: sku, name: "f", value: json.RawMessage(`1`), enricher: "e", version: "1"}}},
		marks:  []enrich.Tally{{Name: "m", Key: sku}},
	}
}

// TestCommitsInFlightTakeTurnsWithoutDeadlock commits the second batch
// first: its rows and marks go in, then it waits for the first batch,
// which must still get the run row and commit while the second's
// transaction is open. Both commit, in order.
func TestCommitsInFlightTakeTurnsWithoutDeadlock(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	plan := wf.Plan{RunID: "run-1", TenantID: "t", HeartbeatTimeout: 5 * time.Second}
	if _, err := db.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, full_run, status, watermark_to)
		VALUES ($1, 'gardener/t', 't', true, 'running', now())`, plan.RunID); err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db}
	first, second := newGate(), newGate()
	errs := make(chan error, 1)
	go func() {
		_, err := a.commit(ctx, plan, batchOf("s", "a", "b"), false, first, second)
		errs <- err
	}()
	// Wait until the second batch's transaction holds its marks and waits.
	for {
		var waiting bool
		if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE state = 'idle in transaction' AND query LIKE 'copy "gardener_marks"%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-errs:
			t.Fatalf("the second batch committed before the first: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	res, err := a.commit(ctx, plan, batchOf("", "", "a"), false, doneGate(), first)
	if err != nil {
		t.Fatalf("first batch: %v", err)
	}
	if res.CursorSKU != "a" {
		t.Fatalf("first batch: checkpoint %+v", res)
	}
	if err := <-errs; err != nil {
		t.Fatalf("second batch: %v", err)
	}
	var batches, marks int64
	var cursor string
	if err := db.QueryRow(ctx, `SELECT batches, cursor_sku, (SELECT count(*) FROM gardener_marks WHERE run_id = $1)
		FROM gardener_runs WHERE run_id = $1`, plan.RunID).Scan(&batches, &cursor, &marks); err != nil {
		t.Fatal(err)
	}
	if batches != 2 || cursor != "b" || marks != 2 {
		t.Fatalf("run: %d batches, cursor %q, %d marks; want 2, \"b\", 2", batches, cursor, marks)
	}
}

// TestCommitOfSkippedSKUsMovesOn: a logged run's batch that found only
// skipped SKUs (more) advances the cursor in the log and the skipped count,
// and leaves the run not done; an empty batch without more ends it, adding
// what it skipped.
func TestCommitOfSkippedSKUsMovesOn(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	plan := wf.Plan{RunID: "run-s", TenantID: "t", HeartbeatTimeout: 5 * time.Second, ChangeLog: true}
	if _, err := db.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, full_run, status, watermark_to)
		VALUES ($1, 'gardener/t', 't', false, 'running', now())`, plan.RunID); err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db}
	check := func(step string, w *work, done bool, skipped, change int64, pos int) {
		t.Helper()
		res, err := a.commit(ctx, plan, w, false, doneGate(), newGate())
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		var gotDone bool
		var gotSkipped, gotChange, batches int64
		var gotPos int
		if err := db.QueryRow(ctx, `SELECT done, skipped, cursor_change, cursor_change_pos, batches FROM gardener_runs WHERE run_id = $1`,
			plan.RunID).Scan(&gotDone, &gotSkipped, &gotChange, &gotPos, &batches); err != nil {
			t.Fatal(err)
		}
		if gotDone != done || res.Done != done || gotSkipped != skipped || res.Skipped != skipped || gotChange != change || gotPos != pos || batches != 0 {
			t.Fatalf("%s: done %v (result %v), skipped %d (result %d), cursor (%d, %d), %d batches; want %v, %d, (%d, %d), 0",
				step, gotDone, res.Done, gotSkipped, res.Skipped, gotChange, gotPos, batches, done, skipped, change, pos)
		}
	}
	check("skipped", &work{skipped: 7, more: true, nextChange: 3, nextPos: 2}, false, 7, 3, 2)
	check("skipped again", &work{afterChange: 3, afterPos: 2, skipped: 5, more: true, nextChange: 4, nextPos: 5000}, false, 12, 4, 5000)
	check("the end", &work{afterChange: 4, afterPos: 5000, skipped: 1, nextChange: 5, nextPos: 1}, true, 13, 4, 5000)
}
