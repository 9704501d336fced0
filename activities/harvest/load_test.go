package harvest

import (
	"context"
	"log/slog"
	"testing"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	wf "contextworker/workflows/harvest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestOlderLoadTableGetsTheNewColumns: a first load's table that a worker
// from before migrations 0014 and 0019 made (LIKE products as it was then)
// lacks activated_at and changed_fields. Stage creates its tables on every
// attempt, which adds them, and sealing then attaches the table as the
// supplier's partition of products: without them the attach would fail.
// Its columns that are constant in a first load (run, times, active) go
// while it fills and come back at sealing, as in a new load table.
func TestOlderLoadTableGetsTheNewColumns(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	a := New(db, DefaultConfig(), slog.New(slog.DiscardHandler))
	plan := wf.Plan{RunID: "older-load-1", TenantID: "acme", SupplierCode: "old"}
	load := loadTable(plan.RunID)
	for _, q := range []string{
		`INSERT INTO harvest_runs (run_id, workflow_id, tenant_id, supplier_code, status, feed_url, format, first_load)
			VALUES ('older-load-1', 'harvest/acme/old', 'acme', 'old', 'running', 'http://x/old.csv', 'csv', true)`,
		`CREATE TABLE ` + load + ` (LIKE products INCLUDING DEFAULTS INCLUDING CONSTRAINTS, feed_row bigint NOT NULL,
			CONSTRAINT products_scope CHECK (tenant_id = 'acme' AND supplier_code = 'old'))`,
		`ALTER TABLE ` + load + ` DROP COLUMN activated_at, DROP COLUMN changed_fields`,
		`INSERT INTO ` + load + ` (tenant_id, supplier_code, sku, name, price, currency, availability, content_hash,
				first_seen, last_seen, last_run_id, feed_row)
			SELECT 'acme', 'old', 'O-' || n, 'old ' || n, n, 'EUR', 'in_stock', md5(n::text), now(), now(), 'older-load-1', n
			FROM generate_series(1, 3) n`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := a.createStage(ctx, plan, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.sealLoad(ctx, plan, checkpoint{Valid: 3}, nil); err != nil {
		t.Fatalf("seal: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM products WHERE tenant_id = 'acme' AND supplier_code = 'old' AND changed_fields IS NULL
		AND last_run_id = 'older-load-1' AND active AND first_seen = last_seen`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d products of the attached load (%v), want 3", n, err)
	}
}
