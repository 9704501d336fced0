package quality_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/quality"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStaleStockAtTheLimit checks the stale-stock pass at the limit, to
// the second, whether it compares the stored dates as text (the form
// Enrich writes) or parses them (any other form), and that a second pass
// writes nothing.
func TestStaleStockAtTheLimit(t *testing.T) {
	db := stacktest.DB(t, testenv.Postgres(t))
	ctx := context.Background()
	now := time.Date(2026, 5, 31, 12, 0, 0, 500_000, time.UTC) // the limit falls inside a second
	zeroSince := map[string]string{
		"at-limit":      "2026-05-01T12:00:00Z", // now - 30 days, less the fraction
		"after-limit":   "2026-05-01T12:00:01Z",
		"long-ago":      "2025-12-31T23:59:59Z",
		"offset-before": "2026-05-01T13:00:00+01:00", // the limit, written otherwise
		"offset-after":  "2026-05-01T13:00:01+01:00",
		"inactive":      "2026-01-01T00:00:00Z",
	}
	for sku, since := range zeroSince {
		if _, err := db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, price, currency, availability,
				content_hash, first_seen, last_seen, last_run_id, active)
			VALUES ('t', 's', $1, $1, 1, 'EUR', 'in_stock', 'h', now(), now(), 'h1', $1 <> 'inactive')`, sku); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO enrichments (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
			VALUES ('t', 's', $1, $2, to_jsonb($3::text), 'quality', '1', 'r0')`, sku, quality.FieldStockZeroSince, since); err != nil {
			t.Fatal(err)
		}
	}
	e, err := quality.Build(quality.Config{OutlierMinGroup: 3, ZeroStockDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	f := enrich.Finish{Run: enrich.Run{ID: "r1", TenantID: "t", Now: now}, Enricher: quality.Name, Version: quality.Version}
	if n, err := e.Finish(ctx, db, f); err != nil || n != 3 {
		t.Fatalf("first pass: %d rows written (%v), want 3", n, err)
	}
	rows, err := db.Query(ctx, `SELECT sku, value->>'since' FROM enrichments WHERE tenant_id = 't' AND field = $1`, quality.FieldStaleStock)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var sku, since string
		if err := rows.Scan(&sku, &since); err != nil {
			t.Fatal(err)
		}
		got[sku] = since
	}
	want := map[string]string{"at-limit": zeroSince["at-limit"], "long-ago": zeroSince["long-ago"], "offset-before": zeroSince["offset-before"]}
	if !maps.Equal(got, want) {
		t.Fatalf("stale stock = %v, want %v", got, want)
	}
	if n, err := e.Finish(ctx, db, f); err != nil || n != 0 {
		t.Fatalf("second pass: %d rows written (%v), want 0", n, err)
	}
	var locked int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM enrichments WHERE field = $1 AND xmax <> 0`, quality.FieldStaleStock).Scan(&locked); err != nil || locked != 0 {
		t.Fatalf("the second pass locked %d unchanged rows (%v), want none", locked, err)
	}
}

// TestPriceOutliersByGroupSize: only groups of at least outlier_min_group
// active members of a currency flag outliers. A pair far apart flags
// nothing, a group of three does, a group of four with one member
// inactive counts three, and one whose members are split by currency
// counts each currency apart; a flag whose group shrank is removed.
func TestPriceOutliersByGroupSize(t *testing.T) {
	db := stacktest.DB(t, testenv.Postgres(t))
	ctx := context.Background()
	type member struct {
		sku, group, currency string
		price                float64
		active               bool
	}
	members := []member{
		{"pair-1", "g-pair", "EUR", 10, true}, {"pair-2", "g-pair", "EUR", 100, true},
		{"three-1", "g-three", "EUR", 10, true}, {"three-2", "g-three", "EUR", 11, true}, {"three-3", "g-three", "EUR", 60, true},
		{"four-1", "g-four", "EUR", 10, true}, {"four-2", "g-four", "EUR", 11, true}, {"four-3", "g-four", "EUR", 70, true},
		{"four-4", "g-four", "EUR", 500, false},
		{"mixed-1", "g-mixed", "EUR", 10, true}, {"mixed-2", "g-mixed", "EUR", 90, true}, {"mixed-3", "g-mixed", "USD", 11, true},
	}
	for _, m := range members {
		if _, err := db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, price, currency, availability,
				content_hash, first_seen, last_seen, last_run_id, active)
			VALUES ('t', 's', $1, $1, $2, $3, 'in_stock', 'h', now(), now(), 'h1', $4)`, m.sku, m.price, m.currency, m.active); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO product_groups (tenant_id, group_id, key) VALUES ('t', $1, $1) ON CONFLICT DO NOTHING`, m.group); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO product_group_members (tenant_id, supplier_code, sku, group_id, run_id)
			VALUES ('t', 's', $1, $2, 'r0')`, m.sku, m.group); err != nil {
			t.Fatal(err)
		}
	}
	e, err := quality.Build(quality.Config{OutlierFactor: 3, OutlierMinGroup: 3})
	if err != nil {
		t.Fatal(err)
	}
	f := enrich.Finish{Run: enrich.Run{ID: "r1", TenantID: "t", Now: time.Now()}, Enricher: quality.Name, Version: quality.Version}
	flagged := func() map[string]string {
		t.Helper()
		rows, err := db.Query(ctx, `SELECT sku, value::text FROM enrichments WHERE tenant_id = 't' AND field = $1`, quality.FieldPriceOutlier)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]string{}
		for rows.Next() {
			var sku, v string
			if err := rows.Scan(&sku, &v); err != nil {
				t.Fatal(err)
			}
			got[sku] = v
		}
		return got
	}
	if _, err := e.Finish(ctx, db, f); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"three-3": `{"ratio": 5.45, "median": 11.0000}`,
		"four-3":  `{"ratio": 6.36, "median": 11.0000}`,
	}
	if got := flagged(); !maps.Equal(got, want) {
		t.Fatalf("outliers = %v, want %v", got, want)
	}
	// three-1 leaves its group: two members are left, and the flag goes.
	if _, err := db.Exec(ctx, `DELETE FROM product_group_members WHERE tenant_id = 't' AND sku = 'three-1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Finish(ctx, db, f); err != nil {
		t.Fatal(err)
	}
	delete(want, "three-3")
	if got := flagged(); !maps.Equal(got, want) {
		t.Fatalf("after three-1 left: outliers = %v, want %v", got, want)
	}
}

// TestStalePassReadsByDate checks that the stale-stock pass finds its
// dates through enrichments_stock_zero_since (migration 0017) by range, up
// to the limit: the index's expression and the pass's must match, or the
// pass reads every stored date of the tenant again, every run.
func TestStalePassReadsByDate(t *testing.T) {
	db := stacktest.DB(t, testenv.Postgres(t))
	// As SyncField runs it: the candidates with its own parameters.
	p := stacktest.Plan(t, db, `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`,
		"WITH c AS ("+quality.StaleSQL+"), a AS (SELECT $2::text, $3::text, $4::text, $5::text) SELECT * FROM c, a",
		"t", "", "", "", "", 30, time.Now())
	i := strings.Index(p, "enrichments_stock_zero_since")
	if i < 0 {
		t.Fatalf("the pass does not read enrichments_stock_zero_since:\n%s", p)
	}
	if cond, _, _ := strings.Cut(p[i:], "Filter"); !strings.Contains(cond, "Index Cond") || !strings.Contains(cond, "<= COALESCE") {
		t.Fatalf("the pass reads enrichments_stock_zero_since without a range on the date:\n%s", p)
	}
}
