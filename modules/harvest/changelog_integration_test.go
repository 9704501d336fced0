package harvest_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"contextworker/internal/prodfields"
	wf "contextworker/workflows/harvest"
)

// change is one product_changes entry.
type change struct {
	runID     string
	changedAt time.Time
	skus      []string // nil: every product of the supplier
	fields    []*int32 // the columns changed in each SKU (prodfields); nil or a nil element: not known
}

// changes returns the supplier's change log entries after id, in order,
// and the last id.
func (s *stack) changes(tenant, supplier string, after int64) ([]change, int64) {
	s.t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT id, run_id, changed_at, skus, fields, n IS NOT DISTINCT FROM cardinality(skus)
		FROM product_changes WHERE tenant_id = $1 AND supplier_code = $2 AND id > $3 ORDER BY id`, tenant, supplier, after)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []change
	last := after
	for rows.Next() {
		var c change
		var counted bool
		if err := rows.Scan(&last, &c.runID, &c.changedAt, &c.skus, &c.fields, &counted); err != nil {
			s.t.Fatal(err)
		}
		if !counted {
			s.t.Fatalf("entry %d: n is not the number of its SKUs", last)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	return out, last
}

// lastSeen returns the supplier's products' last_seen and last run.
func (s *stack) lastSeen(tenant, supplier string) map[string]change {
	s.t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT sku, last_seen, last_run_id FROM products WHERE tenant_id = $1 AND supplier_code = $2`,
		tenant, supplier)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]change{}
	for rows.Next() {
		var sku string
		var c change
		if err := rows.Scan(&sku, &c.changedAt, &c.runID); err != nil {
			s.t.Fatal(err)
		}
		out[sku] = c
	}
	return out
}

// TestChangeLog: a first load logs one entry without SKUs, no earlier
// than the last_seen it gave its products; an unchanged re-harvest logs
// nothing; a re-harvest logs exactly the SKUs it inserted or changed
// (not the deactivated ones), each once, at the last_seen it wrote them,
// in entries of at most 5,000, with the columns that changed in each (none
// known for a product inserted or reactivated).
func TestChangeLog(t *testing.T) {
	s := newStack(t, "partitions: 2\nchain_gardener: false\nmax_deactivate_share: 1\n")
	in := wf.Input{TenantID: "acme", SupplierCode: "log", Format: "csv", Force: true}
	in.FeedURL = s.serve("log1.csv", feedOf(seq(1, 20)...))
	if rep, err := s.harvest(in); err != nil || rep.Inserted != 20 {
		t.Fatalf("first load: %+v %v", rep, err)
	}
	entries, last := s.changes("acme", "log", 0)
	seen := s.lastSeen("acme", "log")
	if len(entries) != 1 || entries[0].skus != nil || entries[0].runID != seen["SKU-001"].runID || entries[0].changedAt.Before(seen["SKU-001"].changedAt) {
		t.Fatalf("first load logged %+v; want one entry without SKUs of run %s, no earlier than %s", entries, seen["SKU-001"].runID, seen["SKU-001"].changedAt)
	}

	if rep, err := s.harvest(in); err != nil || rep.Unchanged != 20 {
		t.Fatalf("unchanged re-harvest: %+v %v", rep, err)
	}
	if entries, _ := s.changes("acme", "log", last); len(entries) != 0 {
		t.Fatalf("an unchanged re-harvest logged %+v", entries)
	}

	// Without SKU-001 (deactivated), two prices changed, a name and a
	// stock level changed, two new products.
	feed := feedOf(seq(2, 22)...)
	for _, i := range []int{3, 17} {
		feed = strings.Replace(feed, goodRow(i, "3.00"), goodRow(i, "4.00"), 1)
	}
	feed = strings.Replace(feed, "SKU-005,Product 5,Acme,,3.00,EUR,5,", "SKU-005,Product 5 II,Acme,,3.00,EUR,6,", 1)
	in.FeedURL = s.serve("log2.csv", feed)
	rep, err := s.harvest(in)
	if err != nil || rep.Updated != 3 || rep.Inserted != 2 || rep.Deactivated != 1 {
		t.Fatalf("re-harvest: %+v %v", rep, err)
	}
	entries, last = s.changes("acme", "log", last)
	seen = s.lastSeen("acme", "log")
	var logged []string
	changed := map[string]string{}
	for _, e := range entries {
		if len(e.skus) == 0 || len(e.fields) != len(e.skus) {
			t.Fatalf("entry %+v: no SKUs, or not the columns of each", e)
		}
		for i, sku := range e.skus {
			if p := seen[sku]; !p.changedAt.Equal(e.changedAt) || p.runID != e.runID {
				t.Errorf("%s: last seen %s by %s, logged at %s by %s", sku, p.changedAt, p.runID, e.changedAt, e.runID)
			}
			changed[sku] = prodfields.FromStored(e.fields[i]).String()
		}
		logged = append(logged, e.skus...)
	}
	slices.Sort(logged)
	if want := []string{"SKU-003", "SKU-005", "SKU-017", "SKU-021", "SKU-022"}; !slices.Equal(logged, want) {
		t.Fatalf("re-harvest logged %v, want %v", logged, want)
	}
	wantChanged := map[string]string{"SKU-003": "price", "SKU-005": "name,stock", "SKU-017": "price", "SKU-021": "all", "SKU-022": "all"}
	if !maps.Equal(changed, wantChanged) {
		t.Fatalf("re-harvest logged the columns %v, want %v", changed, wantChanged)
	}
	// Each at the address of the row the merge wrote.
	var at, addressed int
	if err := s.db.QueryRow(context.Background(), `SELECT count(p.sku), count(u.tid) FROM product_changes c
			CROSS JOIN unnest(c.skus, c.tids) AS u(sku, tid)
			LEFT JOIN products p ON p.tenant_id = c.tenant_id AND p.supplier_code = c.supplier_code AND p.sku = u.sku AND p.ctid = u.tid
		WHERE c.tenant_id = 'acme' AND c.supplier_code = 'log' AND c.skus IS NOT NULL`).Scan(&at, &addressed); err != nil {
		t.Fatal(err)
	}
	if at != len(logged) || addressed != len(logged) {
		t.Fatalf("%d of %d logged SKUs have an address, %d the address of their row", addressed, len(logged), at)
	}

	// SKU-001 is back as it was: reactivated, every column counts.
	in.FeedURL = s.serve("log3.csv", header+goodRow(1, "3.00")+strings.TrimPrefix(feed, header))
	if rep, err := s.harvest(in); err != nil || rep.Updated != 1 {
		t.Fatalf("reactivating re-harvest: %+v %v", rep, err)
	}
	if entries, last = s.changes("acme", "log", last); len(entries) != 1 || !slices.Equal(entries[0].skus, []string{"SKU-001"}) ||
		prodfields.FromStored(entries[0].fields[0]) != prodfields.All {
		t.Fatalf("reactivation logged %+v, want SKU-001 with every column", entries)
	}

	if testing.Short() {
		return
	}
	// Every price changed: 12,000 SKUs over two partitions, in entries of
	// at most 5,000.
	const n = 12000
	big := wf.Input{TenantID: "acme", SupplierCode: "big", Format: "csv", Force: true}
	big.FeedURL = s.serve("big1.csv", feedOf(seq(1, n)...))
	if rep, err := s.harvest(big); err != nil || rep.Inserted != n {
		t.Fatalf("first load: %+v %v", rep, err)
	}
	_, bigLast := s.changes("acme", "big", 0)
	big.FeedURL = s.serve("big2.csv", strings.ReplaceAll(feedOf(seq(1, n)...), ",3.00,", ",5.00,"))
	if rep, err := s.harvest(big); err != nil || rep.Updated != n {
		t.Fatalf("re-harvest: %+v %v", rep, err)
	}
	entries, _ = s.changes("acme", "big", bigLast)
	logged = logged[:0]
	for _, e := range entries {
		if len(e.skus) > 5000 {
			t.Fatalf("an entry of %d SKUs", len(e.skus))
		}
		logged = append(logged, e.skus...)
	}
	slices.Sort(logged)
	if len(logged) != n || len(slices.Compact(slices.Clone(logged))) != n || len(entries) < 4 {
		t.Fatalf("%d entries logged %d SKUs; want each of %d once", len(entries), len(logged), n)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("SKU-%03d", i+1)
	}
	slices.Sort(want)
	if !slices.Equal(logged, want) {
		t.Fatalf("logged other SKUs than the feed's")
	}
}
