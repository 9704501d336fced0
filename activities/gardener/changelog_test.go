package gardener

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// seedChanges makes tenant t's products a/1..a/9 and b/1..b/9, last seen
// at base + 1h (a/9 inactive, b/9 last seen at base: before the window),
// and logs their changes: entries before the window, in it (two of them
// naming a/2 and a/3 twice), of another tenant, and of supplier c (whose
// products are not stored: SKUs of deleted or never stored products read
// nothing).
func seedChanges(ctx context.Context, t *testing.T, db *pgxpool.Pool, base time.Time) {
	t.Helper()
	if _, err := db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, brand, price, currency, stock,
			availability, category_path, image_urls, content_hash, first_seen, last_seen, last_run_id, active)
		SELECT 't', s, i::text, 'P ' || i, 'B', 1, 'EUR', 1, 'in_stock', '{}', '{}', md5(s || i), $1::timestamptz,
			CASE WHEN s = 'b' AND i = 9 THEN $1::timestamptz ELSE $1::timestamptz + interval '1 hour' END, 'h', NOT (s = 'a' AND i = 9)
		FROM unnest(ARRAY['a', 'b']) AS s, generate_series(1, 9) AS i`, base); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		tenant, supplier string
		at               time.Duration
		skus             []string
	}{
		{"t", "a", 0, []string{"1", "2"}},                   // at the window's start: not in it
		{"t", "a", time.Hour, []string{"2", "3", "4", "5"}}, // in the window
		{"u", "a", time.Hour, []string{"6"}},                // another tenant
		{"t", "b", time.Hour, []string{"1", "3", "9"}},      // b/9: last seen before the window
		{"t", "c", time.Hour, []string{"1"}},                // not stored
		{"t", "a", time.Hour, []string{"3", "6", "7", "9"}}, // a/3 again; a/9 inactive
	} {
		if _, err := db.Exec(ctx, `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id, n, skus)
			VALUES ($1, $2, $3, 'h', cardinality($4::text[]), $4)`, e.tenant, e.supplier, base.Add(e.at), e.skus); err != nil {
			t.Fatal(err)
		}
	}
}

// seeded returns a database with seedChanges' products and log, and their
// base time.
func seeded(t *testing.T) (context.Context, *pgxpool.Pool, time.Time) {
	t.Helper()
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	seedChanges(ctx, t, db, base)
	return ctx, db, base
}

// TestLoggedBatchesReadTheLoggedProducts reads a logged run's batches
// until the window is done, from every cursor they leave: each batch is
// at most BatchSize products, and together they are exactly the active
// products logged in the window and last seen in it, of the run's scope.
func TestLoggedBatchesReadTheLoggedProducts(t *testing.T) {
	ctx, db, base := seeded(t)
	cases := []struct {
		name      string
		supplier  string
		batchSize int
		want      []string
		// twice: products a batch boundary may split between the two
		// entries that name them, so read twice.
		twice []string
	}{
		{"tenant, batches of 1", "", 1, []string{"a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "b/1", "b/3"}, []string{"a/3"}},
		{"tenant, batches of 3", "", 3, []string{"a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "b/1", "b/3"}, []string{"a/3"}},
		{"tenant, one batch", "", 100, []string{"a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "b/1", "b/3"}, nil},
		{"supplier b", "b", 2, []string{"b/1", "b/3"}, nil},
		{"supplier without changes", "z", 2, nil, nil},
	}
	a := &Activities{DB: db, Pipeline: enrich.NewPipeline(enrich.Step{Name: "names", Version: "1", Enricher: reads(prodfields.Name)})}
	from := base
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := wf.Plan{TenantID: "t", SupplierCode: c.supplier, From: &from, BatchSize: c.batchSize, ChangeLog: true}
			var got []string
			supplier, sku, change, pos := "", "", int64(0), 0
			for batches := 0; ; batches++ {
				if batches > 20 {
					t.Fatalf("no end after %d batches: read %v", batches, got)
				}
				w, err := a.readBatch(ctx, plan, supplier, sku, change, pos)
				if err != nil {
					t.Fatal(err)
				}
				if len(w.batch) > c.batchSize {
					t.Fatalf("batch of %d products, batch size %d", len(w.batch), c.batchSize)
				}
				if len(w.batch) == 0 {
					break
				}
				for _, p := range w.batch {
					if !p.Changed {
						t.Errorf("%s/%s read as unchanged", p.SupplierCode, p.SKU)
					}
					got = append(got, p.SupplierCode+"/"+p.SKU)
				}
				if w.nextChange == change && w.nextPos == pos {
					t.Fatalf("the cursor did not move past (%d, %d)", change, pos)
				}
				last := w.batch[len(w.batch)-1]
				supplier, sku, change, pos = last.SupplierCode, last.SKU, w.nextChange, w.nextPos
			}
			slices.Sort(got)
			distinct := slices.Compact(slices.Clone(got))
			if !slices.Equal(distinct, c.want) {
				t.Fatalf("read %v, want %v", distinct, c.want)
			}
			if extra := len(got) - len(distinct); extra > len(c.twice) {
				t.Fatalf("read %v: %d products twice, at most %v may be", got, extra, c.twice)
			}
		})
	}
}

// reads is an enricher that declares the columns it reads, and does nothing.
type reads prodfields.Set

func (r reads) Inputs() prodfields.Set { return prodfields.Set(r) }

func (reads) Enrich(context.Context, enrich.Run, []*enrich.Product, *enrich.Output) error { return nil }

// TestLoggedBatchesSkipWhatNoEnricherReads: a logged SKU is read when a
// column its entries logged as changed is one an enricher reads, or when
// they do not say which (inserted, reactivated, logged by an older
// worker), even by enrichers that declare no column; the others are
// counted as skipped, and the cursor moves past them to the window's end,
// also through batches that found nothing to read.
func TestLoggedBatchesSkipWhatNoEnricherReads(t *testing.T) {
	ctx, db, base := seeded(t)
	price, name := int32(prodfields.Price), int32(prodfields.Name)
	// After seedChanges' entries (which log no columns): tenant t's a/1
	// and a/8 prices, a/5 a column not known; a/8's name in an entry of
	// its own; b/2, b/4 and b/5 prices; b/6 with no columns logged.
	for _, e := range []struct {
		supplier string
		skus     []string
		fields   []*int32
	}{
		{"a", []string{"1", "5", "8"}, []*int32{&price, nil, &price}},
		{"a", []string{"8"}, []*int32{&name}},
		{"b", []string{"2", "4", "5"}, []*int32{&price, &price, &price}},
		{"b", []string{"6"}, nil},
	} {
		if _, err := db.Exec(ctx, `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id, n, skus, fields)
			VALUES ('t', $1, $2, 'h', cardinality($3::text[]), $3, $4)`, e.supplier, base.Add(time.Hour), e.skus, e.fields); err != nil {
			t.Fatal(err)
		}
	}
	from := base
	unknown := []string{"a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "b/1", "b/3", "b/6"}
	for _, c := range []struct {
		name    string
		inputs  prodfields.Set
		want    []string
		skipped int64
	}{
		{"names", prodfields.Name, append(slices.Clone(unknown), "a/8"), 4},
		{"stock", prodfields.Stock, unknown, 5},
		{"none", 0, unknown, 5},
		{"prices", prodfields.Price, append(slices.Clone(unknown), "a/1", "a/8", "b/2", "b/4", "b/5"), 0},
	} {
		slices.Sort(c.want)
		// In one batch, a SKU's entries are merged: a/8 changed its price
		// and its name. In batches of two, its entries fall in different
		// batches, and the one of its price alone may be skipped in its
		// own; reading on at most once makes empty batches that move on.
		for _, v := range []struct{ size, reads int }{{100, 50}, {2, 50}, {2, 1}} {
			t.Run(fmt.Sprintf("%s-%d-%d", c.name, v.size, v.reads), func(t *testing.T) {
				defer func(n int) { maxEmptyReads = n }(maxEmptyReads)
				maxEmptyReads = v.reads
				a := &Activities{DB: db, Pipeline: enrich.NewPipeline(enrich.Step{Name: "r", Version: "1", Enricher: reads(c.inputs)})}
				plan := wf.Plan{TenantID: "t", From: &from, BatchSize: v.size, ChangeLog: true}
				var got []string
				var skipped int64
				change, pos, empty := int64(0), 0, 0
				for batches := 0; ; batches++ {
					if batches > 60 {
						t.Fatalf("no end after %d batches: read %v", batches, got)
					}
					w, err := a.readBatch(ctx, plan, "", "", change, pos)
					if err != nil {
						t.Fatal(err)
					}
					skipped += w.skipped
					if len(w.batch) == 0 && !w.more {
						break
					}
					if w.more {
						if len(w.batch) != 0 || w.nextChange == change && w.nextPos == pos {
							t.Fatalf("a batch to read on from: %d products, cursor (%d, %d) -> (%d, %d)", len(w.batch), change, pos, w.nextChange, w.nextPos)
						}
						empty++
					}
					for _, p := range w.batch {
						got = append(got, p.SupplierCode+"/"+p.SKU)
					}
					change, pos = w.nextChange, w.nextPos
				}
				slices.Sort(got)
				got = slices.Compact(got)
				if !slices.Equal(got, c.want) || skipped != c.skipped && (v.size != 2 || skipped != c.skipped+1) {
					t.Fatalf("read %v and skipped %d, want %v and %d", got, skipped, c.want, c.skipped)
				}
				if v.reads == 1 && c.skipped > 0 && empty == 0 {
					t.Fatal("no batch read on from skipped SKUs alone")
				}
			})
		}
	}
}

// TestLoggedBatchesReadAtLoggedAddresses: SKUs logged with the address of
// their row are read there, and those whose address is stale (the product
// changed since), holds another product's row, or is no row at all are
// read by key, current.
func TestLoggedBatchesReadAtLoggedAddresses(t *testing.T) {
	ctx, db, base := seeded(t)
	// An entry with addresses: a/2 and a/5 at theirs; a/3 at the one it
	// had before it changed again; a/4 at a/1's (a product the window did
	// not change); a/7 at none there is.
	if _, err := db.Exec(ctx, `WITH addr AS (SELECT sku, ctid FROM products WHERE tenant_id = 't' AND supplier_code = 'a')
		INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id, n, skus, tids)
		SELECT 't', 'a', $1, 'h', 5, ARRAY['2', '3', '4', '5', '7'], ARRAY[
			(SELECT ctid FROM addr WHERE sku = '2'), (SELECT ctid FROM addr WHERE sku = '3'), (SELECT ctid FROM addr WHERE sku = '1'),
			(SELECT ctid FROM addr WHERE sku = '5'), '(99999,1)'::tid]`, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE products SET name = 'P 3 again' WHERE tenant_id = 't' AND supplier_code = 'a' AND sku = '3'`); err != nil {
		t.Fatal(err)
	}
	from := base
	a := &Activities{DB: db, Pipeline: enrich.NewPipeline(enrich.Step{Name: "r", Version: "1", Enricher: reads(prodfields.Name)})}
	plan := wf.Plan{TenantID: "t", SupplierCode: "a", From: &from, BatchSize: 100, ChangeLog: true}
	w, err := a.readBatch(ctx, plan, "", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range w.batch {
		got = append(got, p.SKU+":"+p.Name)
	}
	// a/2 to a/7 logged (seedChanges' entries, without addresses, too);
	// a/9 inactive.
	want := []string{"2:P 2", "3:P 3 again", "4:P 4", "5:P 5", "6:P 6", "7:P 7"}
	if !slices.Equal(got, want) || w.atAddress != 2 {
		t.Fatalf("read %v, %d at their addresses; want %v, 2", got, w.atAddress, want)
	}
}

// TestChangeLogDecision checks when Begin lets a run read its window from
// the log: an incremental run without stale enrichers whose window starts
// after the log's horizon and holds no first load of its scope.
func TestChangeLogDecision(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	now := time.Now().Truncate(time.Second)
	// Tenant t: a first load of supplier b 10 minutes ago. Tenant old:
	// its log was trimmed to an hour ago.
	if _, err := db.Exec(ctx, `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id) VALUES ('t', 'b', $1, 'h')`,
		now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO product_changes_horizon (tenant_id, complete_after) VALUES ('old', $1)`, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The log began (the migration's row) a day ago.
	began := now.Add(-24 * time.Hour)
	if tag, err := db.Exec(ctx, `UPDATE product_changes_horizon SET complete_after = $1 WHERE tenant_id = ''`, began); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("the migration's horizon: %v %v", tag, err)
	}
	// Tenant up: an older worker's harvest run (not logging) of supplier
	// x finished 10 minutes ago, one of supplier y is still running.
	for _, h := range []struct {
		run, supplier string
		finished      *time.Time
	}{{"old-x", "x", ptr(now.Add(-10 * time.Minute))}, {"old-y", "y", nil}} {
		if _, err := db.Exec(ctx, `INSERT INTO harvest_runs (run_id, workflow_id, tenant_id, supplier_code, status, feed_url, format, finished_at)
			VALUES ($1, 'w', 'up', $2, 'running', 'https://feeds.example/f.csv', 'csv', $3)`, h.run, h.supplier, h.finished); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	cases := []struct {
		name, tenant, supplier string
		from                   *time.Time
		stale                  []string
		want                   bool
	}{
		{"incremental, after the first load", "t", "", at(-5 * time.Minute), nil, true},
		{"first load in the window", "t", "", at(-20 * time.Minute), nil, false},
		{"another supplier's first load in the window", "t", "a", at(-20 * time.Minute), nil, true},
		{"the supplier's first load in the window", "t", "b", at(-20 * time.Minute), nil, false},
		{"full run", "t", "", nil, nil, false},
		{"stale enrichers", "t", "", at(-5 * time.Minute), []string{"brand"}, false},
		{"window before the tenant's horizon", "old", "", at(-2 * time.Hour), nil, false},
		{"window after the tenant's horizon", "old", "", at(-30 * time.Minute), nil, true},
		{"window before the log began", "u", "", ptr(began.Add(-time.Second)), nil, false},
		{"window from the log's start on", "u", "", ptr(began), nil, true},
		{"an unlogged harvest may have merged in the window", "up", "x", at(-20 * time.Minute), nil, false},
		{"an unlogged harvest finished before the window", "up", "x", at(-5 * time.Minute), nil, true},
		{"an unlogged harvest still running", "up", "y", at(-5 * time.Minute), nil, false},
		{"unlogged harvests of the tenant's suppliers", "up", "", at(-5 * time.Minute), nil, false},
		{"another supplier's unlogged harvest", "up", "z", at(-20 * time.Minute), nil, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := fmt.Sprintf("run-%d", i)
			if _, err := db.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, supplier_code, full_run, status,
					watermark_from, watermark_to, stale_enrichers) VALUES ($1, 'w', $2, $3, false, 'running', $4, now(), $5)`,
				run, c.tenant, c.supplier, c.from, append([]string{}, c.stale...)); err != nil {
				t.Fatal(err)
			}
			var got *bool
			if err := db.QueryRow(ctx, changeLogSQL, run).Scan(&got); err != nil || got == nil || *got != c.want {
				t.Fatalf("change_log = %v (%v), want %v", got, err, c.want)
			}
			// Decided once: a retried Begin finds it recorded.
			if tag, err := db.Exec(ctx, changeLogSQL, run); err != nil || tag.RowsAffected() != 0 {
				t.Fatalf("decided again: %v %v", tag, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestTrimChangeLog trims a tenant's log to where every scope's next run
// starts (its watermark less the overlap), or to the retention, and moves
// the tenant's horizon there; other tenants keep theirs.
func TestTrimChangeLog(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	cases := []struct {
		name      string
		overlap   time.Duration
		retention time.Duration
		// cut is where the horizon goes, relative to now.
		cut time.Duration
	}{
		{"the scopes' minimum watermark less the overlap", 10 * time.Minute, 0, -3*time.Hour - 10*time.Minute},
		{"retention shorter than the oldest scope's window", 10 * time.Minute, 2 * time.Hour, -2 * time.Hour},
		{"retention longer than it", 0, 24 * time.Hour, -3 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := stacktest.DB(t, testenv.Postgres(t))
			// Scope '' ran an hour ago, scope a three hours ago.
			if _, err := db.Exec(ctx, `INSERT INTO gardener_watermarks (tenant_id, scope, last_seen_upto, run_id)
				VALUES ('t', '', $1, 'r1'), ('t', 'a', $2, 'r2'), ('u', '', $1, 'r3')`, now.Add(-time.Hour), now.Add(-3*time.Hour)); err != nil {
				t.Fatal(err)
			}
			var ats []time.Time
			for m := 0; m <= 300; m += 30 {
				ats = append(ats, now.Add(-time.Duration(m)*time.Minute))
			}
			for _, tenant := range []string{"t", "u"} {
				for _, at := range ats {
					if _, err := db.Exec(ctx, `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id, n, skus)
						VALUES ($1, 'a', $2, 'h', 1, '{x}')`, tenant, at); err != nil {
						t.Fatal(err)
					}
				}
			}
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := trimChangeLog(ctx, tx, "t", c.overlap, c.retention); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			cut := now.Add(c.cut)
			var horizon time.Time
			var early, kept, others int
			if err := db.QueryRow(ctx, `SELECT (SELECT complete_after FROM product_changes_horizon WHERE tenant_id = 't'),
					(SELECT count(*) FROM product_changes WHERE tenant_id = 't' AND changed_at <= $1),
					(SELECT count(*) FROM product_changes WHERE tenant_id = 't'),
					(SELECT count(*) FROM product_changes WHERE tenant_id = 'u')`, cut).Scan(&horizon, &early, &kept, &others); err != nil {
				t.Fatal(err)
			}
			wantKept := 0
			for _, at := range ats {
				if at.After(cut) {
					wantKept++
				}
			}
			// The retention's cut is taken at the database's now(), a
			// moment after the test's.
			if horizon.Before(cut) || horizon.After(cut.Add(time.Minute)) || early != 0 || kept != wantKept || others != len(ats) {
				t.Fatalf("horizon %s (want %s), %d entries left before it, %d in all (want %d), other tenant %d (want %d)",
					horizon, cut, early, kept, wantKept, others, len(ats))
			}
		})
	}
}
