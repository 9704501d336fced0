package duplicates

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// catalogue is products (sku → key, "" for none) of supplier s in tenant
// t, all active, with their stored group keys.
type catalogue map[string]string

func seed(t *testing.T, db *pgxpool.Pool, c catalogue) {
	t.Helper()
	ctx := context.Background()
	for sku, key := range c {
		if _, err := db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, price, currency, availability,
				content_hash, first_seen, last_seen, last_run_id)
			VALUES ('t', 's', $1, $1, 1, 'EUR', 'in_stock', 'h', now(), now(), 'h1')`, sku); err != nil {
			t.Fatal(err)
		}
		if key != "" {
			setKey(t, db, sku, key)
		}
	}
}

func setKey(t *testing.T, db *pgxpool.Pool, sku, key string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `INSERT INTO enrichments (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
		VALUES ('t', 's', $1, 'group', jsonb_build_object('key', $2::text), 'duplicates', '1', 'r0')
		ON CONFLICT (tenant_id, supplier_code, sku, field) DO UPDATE SET value = excluded.value`, sku, key); err != nil {
		t.Fatal(err)
	}
}

// groups returns the stored groups as "key: sku sku …", sorted.
func groups(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT g.key || ': ' || string_agg(m.sku, ' ' ORDER BY m.sku)
		FROM product_group_members m JOIN product_groups g USING (tenant_id, group_id)
		WHERE m.tenant_id = 't' GROUP BY g.key ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// finish runs the pass in a transaction, as Finalize does.
func finish(t *testing.T, db *pgxpool.Pool, e *Enricher, f enrich.Finish) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	n, err := e.Finish(ctx, tx, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// collide makes keys of equal length hash alike for the test's duration.
func collide(t *testing.T) {
	t.Helper()
	old := keyHash
	keyHash = func(expr string) string { return "length(" + expr + ")::int8" }
	t.Cleanup(func() { keyHash = old })
}

func TestFullPassGroupsByExactKey(t *testing.T) {
	db := stacktest.DB(t, testenv.Postgres(t))
	// a1/a2 share a key; b1 and c1 hold keys of the same length as each
	// other (and as a's key): under collide all three hash alike.
	seed(t, db, catalogue{"a1": "gtin:01", "a2": "gtin:01", "b1": "gtin:02", "c1": "gtin:03", "d1": "gtin:0004", "n1": ""})
	e, err := Build(Config{ByGTIN: true, MinMembers: 2})
	if err != nil {
		t.Fatal(err)
	}
	f := enrich.Finish{Run: enrich.Run{ID: "r1", TenantID: "t"}, Enricher: Name, Version: Version}
	for _, tc := range []struct {
		name      string
		collide   bool
		maxHashed int
	}{
		{name: "hashed in the worker", maxHashed: maxHashed},
		{name: "hashed in the worker, hashes colliding", collide: true, maxHashed: maxHashed},
		{name: "grouped by the database, hashes colliding", collide: true, maxHashed: 0},
		{name: "grouped by the database", maxHashed: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.collide {
				collide(t)
			}
			old := maxHashed
			maxHashed = tc.maxHashed
			t.Cleanup(func() { maxHashed = old })
			// Start from nothing, so that each case builds the groups.
			if _, err := db.Exec(context.Background(), `DELETE FROM product_group_members; DELETE FROM product_groups`); err != nil {
				t.Fatal(err)
			}
			if n := finish(t, db, e, f); n != 3 {
				t.Errorf("rows written = %d, want 3 (gtin:01 and its two members)", n)
			}
			if got, want := groups(t, db), []string{"gtin:01: a1 a2"}; !slices.Equal(got, want) {
				t.Fatalf("groups = %q, want %q", got, want)
			}
			if n := finish(t, db, e, f); n != 0 {
				t.Errorf("a second pass wrote %d rows, want 0", n)
			}
		})
	}
}

// TestFullPassFollowsARowUpdatedAfterItsHash updates a row between the
// read of the hashes and the pass's statement: the row is no longer where
// it was hashed, and the pass must read the rows again by hash.
func TestFullPassFollowsARowUpdatedAfterItsHash(t *testing.T) {
	db := stacktest.DB(t, testenv.Postgres(t))
	seed(t, db, catalogue{"a1": "gtin:01", "a2": "gtin:01", "b1": "gtin:02"})
	e, err := Build(Config{ByGTIN: true, MinMembers: 2})
	if err != nil {
		t.Fatal(err)
	}
	afterHashed = func() {
		if _, err := db.Exec(context.Background(), `UPDATE enrichments SET updated_at = now() WHERE sku = 'a2'`); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { afterHashed = nil })
	ctx := context.Background()
	// Not in a transaction: the update commits between the statements.
	n, err := e.Finish(ctx, db, enrich.Finish{Run: enrich.Run{ID: "r1", TenantID: "t"}, Enricher: Name, Version: Version})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := groups(t, db), []string{"gtin:01: a1 a2"}; n != 3 || !slices.Equal(got, want) {
		t.Fatalf("groups = %q (%d rows written), want %q (3 rows)", got, n, want)
	}
}

func TestPassesFollowChanges(t *testing.T) {
	e, err := Build(Config{ByGTIN: true, MinMembers: 3})
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		name string
		// change changes the catalogue and returns the keys a sparse
		// run's batches would mark.
		change func(t *testing.T, db *pgxpool.Pool) []string
		want   []string
	}
	steps := []step{
		{name: "a group forms", change: func(*testing.T, *pgxpool.Pool) []string { return nil },
			want: []string{"gtin:01: a1 a2 a3"}},
		{name: "a member gives up the key: the group falls below min_members", change: func(t *testing.T, db *pgxpool.Pool) []string {
			setKey(t, db, "a3", "gtin:09")
			touch(t, db, "a3")
			return []string{"gtin:01", "gtin:09"}
		}, want: []string{}},
		{name: "it takes the key again", change: func(t *testing.T, db *pgxpool.Pool) []string {
			setKey(t, db, "a3", "gtin:01")
			touch(t, db, "a3")
			return []string{"gtin:01", "gtin:09"}
		}, want: []string{"gtin:01: a1 a2 a3"}},
		{name: "a member goes inactive", change: func(t *testing.T, db *pgxpool.Pool) []string {
			if _, err := db.Exec(context.Background(), `UPDATE products SET active = false WHERE sku = 'a2'`); err != nil {
				t.Fatal(err)
			}
			return nil // deactivation is no change a batch reads
		}, want: []string{}},
		{name: "another product takes the key", change: func(t *testing.T, db *pgxpool.Pool) []string {
			setKey(t, db, "b1", "gtin:01")
			touch(t, db, "b1")
			return []string{"gtin:01"}
		}, want: []string{"gtin:01: a1 a3 b1"}},
	}
	for _, mode := range []string{"full", "since", "sparse"} {
		t.Run(mode, func(t *testing.T) {
			db := stacktest.DB(t, testenv.Postgres(t))
			seed(t, db, catalogue{"a1": "gtin:01", "a2": "gtin:01", "a3": "gtin:01", "b1": "gtin:02"})
			ctx := context.Background()
			for i, st := range steps {
				run := "r" + strings.Repeat("x", i)
				var since time.Time
				if err := db.QueryRow(ctx, `SELECT now()`).Scan(&since); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, full_run, status, watermark_to)
					VALUES ($1, 'gardener/t', 't', false, 'running', now())`, run); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond) // changes come after since
				for _, k := range st.change(t, db) {
					if _, err := db.Exec(ctx, `INSERT INTO gardener_marks (run_id, name, key) VALUES ($1, $2, $3)`, run, MarkTouched, k); err != nil {
						t.Fatal(err)
					}
				}
				f := enrich.Finish{Run: enrich.Run{ID: run, TenantID: "t"}, Enricher: Name, Version: Version}
				if mode != "full" && i > 0 {
					f.Since = &since
					f.Run.Sparse = mode == "sparse"
				}
				finish(t, db, e, f)
				if got := groups(t, db); !slices.Equal(got, st.want) {
					t.Fatalf("%s: groups = %q, want %q", st.name, got, st.want)
				}
			}
		})
	}
}

// touch marks sku changed since the last pass, as a harvest does.
func touch(t *testing.T, db *pgxpool.Pool, sku string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `UPDATE products SET last_seen = clock_timestamp() WHERE sku = $1`, sku); err != nil {
		t.Fatal(err)
	}
}

func TestShared(t *testing.T) {
	for _, tc := range []struct {
		name string
		hs   []int64
		min  int
		want []int64
	}{
		{name: "none", hs: nil, min: 2, want: nil},
		{name: "all distinct", hs: []int64{3, 1, 2}, min: 2, want: nil},
		{name: "pairs and a triple", hs: []int64{5, -1, 5, 7, -1, 7, 7, 9}, min: 2, want: []int64{-1, 5, 7}},
		{name: "min 3", hs: []int64{5, -1, 5, 7, -1, 7, 7, 9}, min: 3, want: []int64{7}},
		{name: "one run at the end", hs: []int64{1, 2, 2}, min: 2, want: []int64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shared(slices.Clone(tc.hs), tc.min); !slices.Equal(got, tc.want) {
				t.Fatalf("shared(%v, %d) = %v, want %v", tc.hs, tc.min, got, tc.want)
			}
		})
	}
}

// TestStoredSpellingIsJSONB: the spelling markTouched compares stored
// values with, without decoding them, is the one PostgreSQL prints for the
// value the enricher writes. Were it not, every changed product would be
// decoded (slower, the same marks).
func TestStoredSpellingIsJSONB(t *testing.T) {
	testenv.Integration(t)
	db := stacktest.DB(t, testenv.Postgres(t))
	for _, c := range []struct{ key, by string }{
		{"gtin:04006381333931", "gtin"}, {"bn:bosch|drill x 1", "brand_name"}, {"bn:a b|c/d{e}:[f],g", "brand_name"},
	} {
		var printed string
		if err := db.QueryRow(context.Background(), `SELECT $1::jsonb::text`, string(appendValue(nil, []byte(c.key), c.by))).Scan(&printed); err != nil {
			t.Fatal(err)
		}
		if !plain([]byte(c.key)) {
			t.Fatalf("%q: not plain", c.key)
		}
		if got := string(appendStored(nil, []byte(c.key), c.by)); got != printed {
			t.Errorf("%q: spelled %s, PostgreSQL prints %s", c.key, got, printed)
		}
	}
}

// TestSharedHashesKeepsTheSettings: the read of the hashes lowers
// parallel_tuple_cost for itself alone; the caller's transaction has its
// own value back for the passes after it.
func TestSharedHashesKeepsTheSettings(t *testing.T) {
	db := stacktest.DB(t, testenv.Postgres(t))
	seed(t, db, catalogue{"a1": "gtin:01", "a2": "gtin:01", "b1": "gtin:02"})
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL parallel_tuple_cost = 0.25`); err != nil {
			return err
		}
		tids, hashes, ok, err := sharedHashes(ctx, tx, "t", 2)
		if err != nil {
			return err
		}
		if !ok || len(tids) != 2 || len(hashes) != 2 {
			t.Errorf("sharedHashes = %d rows, %d hashes, %v; want the 2 rows of gtin:01", len(tids), len(hashes), ok)
		}
		var cost string
		if err := tx.QueryRow(ctx, `SELECT current_setting('parallel_tuple_cost')`).Scan(&cost); err != nil {
			return err
		}
		if cost != "0.25" {
			t.Errorf("parallel_tuple_cost after the read = %s, want the transaction's 0.25", cost)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
