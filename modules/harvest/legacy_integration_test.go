package harvest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	acts "contextworker/activities/harvest"
	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// TestDeactivateRunStagedByStop6Worker: a run staged by the previous
// worker version (every feed row staged, unchanged ones slim; no missing
// count recorded) is still deactivated correctly by today's Deactivate,
// which then compares the catalogue with that staging table.
func TestDeactivateRunStagedByStop6Worker(t *testing.T) {
	s := newStack(t, "batch_size: 100\nchain_gardener: false\n")
	ctx := context.Background()
	if _, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "old", Format: "csv", FeedURL: s.serve("old.csv", feedOf(seq(1, 10)...))}); err != nil {
		t.Fatal(err)
	}
	// What a stop-6 worker left after staging and merging a feed of SKU 1..8,
	// all unchanged: slim rows, and the merges' counts.
	const run = "legacy-run-1"
	for _, q := range []string{
		`INSERT INTO harvest_runs (run_id, workflow_id, tenant_id, supplier_code, status, feed_url, format, staged_at)
			VALUES ('` + run + `', 'harvest/acme/old', 'acme', 'old', 'running', 'http://x/old.csv', 'csv', now())`,
		`CREATE TABLE harvest_stage_legacyrun1 (row_no bigint NOT NULL, part integer NOT NULL, sku text NOT NULL, content_hash text NOT NULL, unchanged boolean NOT NULL)`,
		`INSERT INTO harvest_stage_legacyrun1 SELECT n, 0, sku, content_hash, true
			FROM products p, LATERAL (SELECT substr(p.sku, 5)::int AS n) x WHERE tenant_id = 'acme' AND supplier_code = 'old' AND n <= 8`,
		`INSERT INTO harvest_parts (run_id, part, inserted, updated, unchanged, duplicates, slim) VALUES ('` + run + `', 0, 0, 0, 8, 0, 8)`,
	} {
		if _, err := s.db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	a := acts.New(s.db, acts.DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.Deactivate, activity.RegisterOptions{Name: wf.ActivityDeactivate})
	plan := wf.Plan{RunID: run, TenantID: "acme", SupplierCode: "old", Tuning: wf.Tuning{MaxDeactivateShare: 0.5}}
	val, err := env.ExecuteActivity(wf.ActivityDeactivate, wf.DeactivateRequest{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	var res wf.DeactivateResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.ActiveBefore != 10 || res.Missing != 2 || res.Deactivated != 2 {
		t.Fatalf("deactivation %+v; want 2 of 10 missing and deactivated", res)
	}
	var inactive []string
	rows, err := s.db.Query(ctx, `SELECT sku FROM products WHERE tenant_id = 'acme' AND supplier_code = 'old' AND NOT active ORDER BY sku`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sku string
		if err := rows.Scan(&sku); err != nil {
			t.Fatal(err)
		}
		inactive = append(inactive, sku)
	}
	if len(inactive) != 2 || inactive[0] != "SKU-009" || inactive[1] != "SKU-010" {
		t.Fatalf("inactive %v, want SKU-009 and SKU-010", inactive)
	}
}

// TestMergeFirstLoadStagedByOlderWorker: a supplier's first load that a
// worker from before first loads became partitions staged like any other
// run (first_load set, active_before not recorded) is merged by plain
// inserts, logged as a first load (a change log entry without SKUs, so the
// gardener's next run walks the supplier), and a retry writes nothing.
func TestMergeFirstLoadStagedByOlderWorker(t *testing.T) {
	s := newStack(t, "batch_size: 100\nchain_gardener: false\n")
	ctx := context.Background()
	if _, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "old", Format: "csv", FeedURL: s.serve("old.csv", feedOf(seq(1, 3)...))}); err != nil {
		t.Fatal(err)
	}
	const run = "legacy-first-1"
	for _, q := range []string{
		`INSERT INTO harvest_runs (run_id, workflow_id, tenant_id, supplier_code, status, feed_url, format, staged_at, first_load, may_have_duplicates)
			VALUES ('` + run + `', 'harvest/acme/fresh', 'acme', 'fresh', 'running', 'http://x/fresh.csv', 'csv', now(), true, false)`,
		`CREATE TABLE harvest_stage_legacyfirst1 (row_no bigint NOT NULL, part integer NOT NULL, sku text NOT NULL, name text,
			description text, brand text, gtin text, price numeric(18,4), currency text, stock bigint, availability text,
			category_path text[], product_url text, image_urls text[], attributes jsonb, content_hash text NOT NULL,
			unchanged boolean NOT NULL, source_key bigint) PARTITION BY LIST (part)`,
		`CREATE TABLE harvest_stage_legacyfirst1_0 PARTITION OF harvest_stage_legacyfirst1 FOR VALUES IN (0)`,
		`INSERT INTO harvest_stage_legacyfirst1 (row_no, part, sku, name, price, currency, availability, content_hash, unchanged)
			SELECT n, 0, 'F-' || n, 'fresh ' || n, n, 'EUR', 'in_stock', md5(n::text), false FROM generate_series(1, 3) n`,
	} {
		if _, err := s.db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var before int64
	if err := s.db.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM product_changes`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	a := acts.New(s.db, acts.DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.Merge, activity.RegisterOptions{Name: wf.ActivityMerge})
	plan := wf.Plan{RunID: run, TenantID: "acme", SupplierCode: "fresh"}
	for attempt := 1; attempt <= 2; attempt++ {
		val, err := env.ExecuteActivity(wf.ActivityMerge, plan, 0)
		if err != nil {
			t.Fatal(err)
		}
		var res wf.MergeResult
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		if res.Inserted != 3 || res.Updated != 0 || res.Unchanged != 0 {
			t.Fatalf("attempt %d: merge %+v; want 3 inserted", attempt, res)
		}
	}
	got := s.catalogue("acme", "fresh")
	if len(got) != 3 || got["F-1"] == "" || got["F-3"] == "" {
		t.Fatalf("catalogue of the merged first load %v; want F-1..F-3", got)
	}
	var entries, withSKUs int
	if err := s.db.QueryRow(ctx, `SELECT count(*), count(skus) FROM product_changes WHERE id > $1 AND tenant_id = 'acme' AND supplier_code = 'fresh'`,
		before).Scan(&entries, &withSKUs); err != nil {
		t.Fatal(err)
	}
	if entries != 1 || withSKUs != 0 {
		t.Fatalf("change log: %d entries, %d with SKUs; want one first-load entry (no SKUs) after two attempts", entries, withSKUs)
	}
}

// TestMergeComparesStoredHashDigits: products.content_hash keeps the first
// product.StoredHashDigits hex digits of a product's hash, and rows
// written before keep all 64. A merge compares those first digits only: a
// staged row equal to a stored one with a full-length hash leaves it as it
// is (not rewritten once for the shorter hash), and a changed one is
// written, with the short hash.
func TestMergeComparesStoredHashDigits(t *testing.T) {
	s := newStack(t, "batch_size: 100\nchain_gardener: false\n")
	ctx := context.Background()
	first, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "digits", Format: "csv", FeedURL: s.serve("digits.csv", feedOf(seq(1, 3)...))})
	if err != nil {
		t.Fatal(err)
	}
	var short int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM products WHERE tenant_id = 'acme' AND supplier_code = 'digits' AND length(content_hash) = $1`,
		product.StoredHashDigits).Scan(&short); err != nil || short != 3 {
		t.Fatalf("%d of 3 loaded products keep %d hash digits (%v)", short, product.StoredHashDigits, err)
	}
	// SKU-001 as an older worker wrote it (64 digits, the same first 16);
	// then a run that staged it unchanged in full, and SKU-002 changed.
	const run = "digits-run-1"
	for _, q := range []string{
		`UPDATE products SET content_hash = content_hash || repeat('0', 48) WHERE tenant_id = 'acme' AND supplier_code = 'digits' AND sku = 'SKU-001'`,
		`INSERT INTO harvest_runs (run_id, workflow_id, tenant_id, supplier_code, status, feed_url, format, staged_at)
			VALUES ('` + run + `', 'harvest/acme/digits', 'acme', 'digits', 'running', 'http://x/digits.csv', 'csv', now())`,
		`CREATE TABLE harvest_stage_digitsrun1 (row_no bigint NOT NULL, part integer NOT NULL, sku text NOT NULL, name text,
			description text, brand text, gtin text, price numeric(18,4), currency text, stock bigint, availability text,
			category_path text[], product_url text, image_urls text[], attributes jsonb, content_hash text NOT NULL,
			unchanged boolean NOT NULL, source_key bigint) PARTITION BY LIST (part)`,
		`CREATE TABLE harvest_stage_digitsrun1_0 PARTITION OF harvest_stage_digitsrun1 FOR VALUES IN (0)`,
		`INSERT INTO harvest_stage_digitsrun1 SELECT substr(sku, 5)::int, 0, sku,
				CASE sku WHEN 'SKU-002' THEN 'renamed' ELSE name END, description, brand, gtin, price, currency, stock, availability,
				category_path, product_url, image_urls, attributes,
				CASE sku WHEN 'SKU-002' THEN 'ffffffffffffffff' ELSE left(content_hash, 16) END, false, source_key
			FROM products WHERE tenant_id = 'acme' AND supplier_code = 'digits' AND sku IN ('SKU-001', 'SKU-002')`,
	} {
		if _, err := s.db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	a := acts.New(s.db, acts.DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.Merge, activity.RegisterOptions{Name: wf.ActivityMerge})
	val, err := env.ExecuteActivity(wf.ActivityMerge, wf.Plan{RunID: run, TenantID: "acme", SupplierCode: "digits"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var res wf.MergeResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 0 || res.Updated != 1 {
		t.Fatalf("merge %+v; want SKU-002 updated alone", res)
	}
	for sku, want := range map[string]struct {
		digits int
		run    string
	}{"SKU-001": {64, first.RunID}, "SKU-002": {product.StoredHashDigits, run}} {
		var digits int
		var lastRun string
		if err := s.db.QueryRow(ctx, `SELECT length(content_hash), last_run_id FROM products WHERE tenant_id = 'acme' AND supplier_code = 'digits' AND sku = $1`,
			sku).Scan(&digits, &lastRun); err != nil {
			t.Fatal(err)
		}
		if digits != want.digits || lastRun != want.run {
			t.Errorf("%s: %d hash digits, last written by %s; want %d, by %s", sku, digits, lastRun, want.digits, want.run)
		}
	}
}

// TestReharvestComparesLegacyHashes: rows written before migration 0021
// keep SHA-256 digits in lower case (16, or 64 before 0020), rows since the
// XXH64's in upper case. A re-harvest compares each stored product with the
// hash of its own scheme: products whose content did not change are not
// written again for the new hash (they keep the old digits and run), and a
// changed one is written with the new hash. The stored source keys are
// taken away, so that every record is normalised and compared by its hash.
func TestReharvestComparesLegacyHashes(t *testing.T) {
	s := newStack(t, "batch_size: 100\nchain_gardener: false\n")
	ctx := context.Background()
	in := wf.Input{TenantID: "acme", SupplierCode: "sha", Format: "csv", Force: true}
	body := feedOf(seq(1, 4)...)
	in.FeedURL = s.serve("sha-1.csv", body)
	first, err := s.harvest(in)
	if err != nil || first.Inserted != 4 {
		t.Fatalf("first harvest = %+v, %v", first, err)
	}
	var xxh int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM products WHERE tenant_id = 'acme' AND supplier_code = 'sha'
		AND content_hash ~ '^[0-9A-F]{16}$' AND content_hash ~ '[A-F]'`).Scan(&xxh); err != nil || xxh != 4 {
		t.Fatalf("%d of 4 products stored with upper-case XXH64 digits (%v)", xxh, err)
	}
	// As an older worker wrote them: SHA-256 digits, 64 of them for SKU-004.
	eachCSVProduct(t, strings.NewReader(body), func(p product.Product, err error) {
		if err != nil {
			t.Fatal(err)
		}
		legacy := p.Hash()[:product.StoredHashDigits]
		if p.SKU == "SKU-004" {
			legacy = p.Hash()
		}
		if _, err := s.db.Exec(ctx, `UPDATE products SET content_hash = $3, source_key = NULL
			WHERE tenant_id = 'acme' AND supplier_code = $1 AND sku = $2`, "sha", p.SKU, legacy); err != nil {
			t.Fatal(err)
		}
	})
	in.FeedURL = s.serve("sha-2.csv", strings.Replace(body, goodRow(2, "3.00"), goodRow(2, "4.00"), 1))
	second, err := s.harvest(in)
	if err != nil || second.Inserted != 0 || second.Updated != 1 || second.Unchanged != 3 {
		t.Fatalf("re-harvest = %+v, %v; want SKU-002 updated alone", second, err)
	}
	rows, err := s.db.Query(ctx, `SELECT sku, length(content_hash), content_hash ~ '[a-f]', content_hash ~ '[A-F]', last_run_id = $1
		FROM products WHERE tenant_id = 'acme' AND supplier_code = 'sha' ORDER BY sku`, second.RunID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var sku string
		var digits int
		var lower, upper, rewritten bool
		if err := rows.Scan(&sku, &digits, &lower, &upper, &rewritten); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s digits=%d lower=%t upper=%t rewritten=%t", sku, digits, lower, upper, rewritten))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"SKU-001 digits=16 lower=true upper=false rewritten=false",
		"SKU-002 digits=16 lower=false upper=true rewritten=true",
		"SKU-003 digits=16 lower=true upper=false rewritten=false",
		"SKU-004 digits=64 lower=true upper=false rewritten=false",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the re-harvest:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
