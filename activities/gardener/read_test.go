package gardener

import (
	"context"
	"testing"
	"time"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// TestReadStoredFindsEachBatchProductsFields reads what is stored for
// batches by every plan the reads choose (a key range for dense batches;
// for sparse ones one index scan when the batch has one supplier, a probe
// a key otherwise): each product gets its own fields and provenance, none
// of a product outside the batch or of another tenant.
func TestReadStoredFindsEachBatchProductsFields(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	// Every product of suppliers a and b, SKUs 1..6, has a brand; even
	// SKUs a category too. Tenant u has the same keys.
	if _, err := db.Exec(ctx, `INSERT INTO enrichments (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
		SELECT tn, s, i::text, f, to_jsonb(tn || '/' || s || '/' || i || ' ' || f), f || '-enricher', '1', 'r'
		FROM unnest(ARRAY['t', 'u']) AS tn, unnest(ARRAY['a', 'b']) AS s, generate_series(1, 6) AS i, unnest(ARRAY['brand', 'category']) AS f
		WHERE f = 'brand' OR i % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	cases := []struct {
		name string
		from *time.Time
		keys [][2]string // supplier, sku
		// parts: the batch is read in parts of at least this many
		// products (0: the default).
		part int
	}{
		{"dense, one supplier", nil, [][2]string{{"a", "2"}, {"a", "3"}, {"a", "5"}}, 0},
		{"dense, two suppliers", nil, [][2]string{{"a", "2"}, {"b", "2"}, {"a", "4"}}, 0},
		{"sparse, one supplier", &from, [][2]string{{"b", "1"}, {"b", "4"}, {"b", "6"}}, 0},
		{"sparse, two suppliers", &from, [][2]string{{"a", "1"}, {"b", "4"}, {"a", "6"}}, 0},
		{"sparse, a product with nothing stored", &from, [][2]string{{"a", "5"}, {"a", "9"}}, 0},
		{"sparse, in parts", &from, [][2]string{{"b", "2"}, {"a", "3"}, {"b", "3"}, {"a", "4"}, {"a", "9"}}, 2},
		{"dense, not in parts", nil, [][2]string{{"a", "1"}, {"a", "2"}, {"b", "2"}, {"a", "6"}}, 1},
	}
	a := &Activities{DB: db}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.part > 0 {
				defer func(n int) { minStoredPart = n }(minStoredPart)
				minStoredPart = c.part
			}
			plan := wf.Plan{TenantID: "t", From: c.from}
			w := &work{}
			for _, k := range c.keys {
				w.batch = append(w.batch, &enrich.Product{SupplierCode: k[0], SKU: k[1]})
			}
			if err := a.readStored(ctx, plan, w); err != nil {
				t.Fatal(err)
			}
			for i, p := range w.batch {
				var want []string
				if err := db.QueryRow(ctx, `SELECT coalesce(array_agg(field ORDER BY field), '{}') FROM enrichments
					WHERE tenant_id = 't' AND supplier_code = $1 AND sku = $2`, p.SupplierCode, p.SKU).Scan(&want); err != nil {
					t.Fatal(err)
				}
				if len(p.Stored) != len(want) || len(w.stored[i]) != len(want) {
					t.Fatalf("%s/%s: stored %v with provenance %v; want the fields %v", p.SupplierCode, p.SKU, p.Stored, w.stored[i], want)
				}
				for _, f := range want {
					wantValue := `"t/` + p.SupplierCode + "/" + p.SKU + " " + f + `"`
					if got := string(p.Stored[f]); got != wantValue || w.stored[i][f] != (provenance{f + "-enricher", "1"}) {
						t.Errorf("%s/%s %s = %s by %+v; want %s by %s-enricher 1", p.SupplierCode, p.SKU, f, got, w.stored[i][f], wantValue, f)
					}
				}
			}
		})
	}
}
