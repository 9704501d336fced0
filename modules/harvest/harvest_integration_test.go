package harvest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	gardener "contextworker/workflows/gardener"
	wf "contextworker/workflows/harvest"
)

const header = "sku,name,brand,gtin,price,currency,stock,category,url,images\n"

func goodRow(i int, price string) string {
	return fmt.Sprintf("SKU-%03d,Product %d,Acme,,%s,EUR,%d,Tools > Hammers,https://shop.example/p/%d,https://img.example/%d.jpg\n", i, i, price, i, i, i)
}

func TestHarvestEndToEnd(t *testing.T) {
	s := newStack(t, "partitions: 3\nparallelism: 2\nbatch_size: 100\n")
	var b strings.Builder
	b.WriteString(header)
	for i := 1; i <= 10; i++ {
		b.WriteString(goodRow(i, "9.99"))
	}
	b.WriteString("SKU-BAD1,No price,Acme,,abc,EUR,1,Tools,https://shop.example/x,\n")
	b.WriteString("SKU-BAD2,Bad gtin,Acme,4006381333932,1.00,EUR,1,Tools,https://shop.example/x,\n")
	b.WriteString(",No sku,Acme,,1.00,EUR,1,Tools,https://shop.example/x,\n")
	b.WriteString(goodRow(3, "7.50")) // duplicate: the last one wins
	url := s.serve("feed.csv", b.String())
	in := wf.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: url, Format: "csv"}

	rep, err := s.harvest(in)
	if err != nil {
		t.Fatalf("harvest: %v", err)
	}
	want := wf.Report{Status: wf.StatusSucceeded, RowsRead: 14, Valid: 10, Rejected: 4, Duplicates: 1, Inserted: 10}
	if rep.Status != want.Status || rep.RowsRead != want.RowsRead || rep.Valid != want.Valid || rep.Rejected != want.Rejected ||
		rep.Duplicates != want.Duplicates || rep.Inserted != want.Inserted || rep.Updated != 0 {
		t.Fatalf("report = %+v\nwant counts %+v", rep, want)
	}
	if *updateHistory {
		s.saveHistory(rep.WorkflowID, rep.RunID, "../../workflows/harvest/testdata/harvest_history_first_load.json")
	}
	cat := s.catalogue("acme", "s1")
	if len(cat) != 10 {
		t.Fatalf("products = %d, want 10", len(cat))
	}
	if !strings.Contains(cat["SKU-003"], "|7.5000|") {
		t.Fatalf("duplicate SKU-003: last row should win, got %s", cat["SKU-003"])
	}
	rejects := map[int64]string{}
	rows, _ := s.db.Query(context.Background(), `SELECT row_no, reason FROM harvest_rejects WHERE run_id = $1`, rep.RunID)
	for rows.Next() {
		var n int64
		var reason string
		if err := rows.Scan(&n, &reason); err != nil {
			t.Fatal(err)
		}
		rejects[n] = reason
	}
	for row, want := range map[int64]string{11: "price:", 12: "gtin: check digit", 13: "sku: missing", 3: "sku: duplicate, superseded by row 14"} {
		if !strings.HasPrefix(rejects[row], want) {
			t.Errorf("reject of row %d = %q, want prefix %q (all: %v)", row, rejects[row], want, rejects)
		}
	}

	t.Run("a run that changed products started the gardener", func(t *testing.T) {
		d, err := s.tc.DescribeWorkflowExecution(context.Background(), gardener.WorkflowID("acme"), "")
		if err != nil {
			t.Fatalf("gardener/acme was not started: %v", err)
		}
		if got := d.GetWorkflowExecutionInfo().GetType().GetName(); got != gardener.WorkflowName {
			t.Fatalf("workflow type %q", got)
		}
	})
	t.Run("unchanged feed ends without parsing (conditional GET)", func(t *testing.T) {
		rep, err := s.harvest(in)
		if err != nil || rep.Status != wf.StatusUnchanged {
			t.Fatalf("re-harvest = %+v, %v; want status unchanged", rep, err)
		}
		if got := s.catalogue("acme", "s1"); !maps.Equal(got, cat) {
			t.Fatal("unchanged run changed the catalogue")
		}
	})
	t.Run("forced re-harvest rewrites nothing", func(t *testing.T) {
		forced := in
		forced.Force = true
		rep, err := s.harvest(forced)
		if err != nil || rep.Status != wf.StatusSucceeded || rep.Inserted != 0 || rep.Updated != 0 || rep.Unchanged != 10 {
			t.Fatalf("forced re-harvest = %+v, %v; want 10 unchanged, 0 written", rep, err)
		}
		if got := s.catalogue("acme", "s1"); !maps.Equal(got, cat) {
			t.Fatal("a repeated run rewrote rows")
		}
	})
	t.Run("the first load became the supplier's partition of products", func(t *testing.T) {
		var parent string
		if err := s.db.QueryRow(context.Background(), `SELECT i.inhparent::regclass::text FROM pg_inherits i
			WHERE i.inhrelid = to_regclass(quote_ident(products_supplier_partition('acme', 's1')))`).Scan(&parent); err != nil {
			t.Fatalf("no partition of its own: %v", err)
		}
		if !strings.HasPrefix(parent, "products_acme_") {
			t.Fatalf("partition of %s, want the tenant's", parent)
		}
		// Loading turned autovacuum off for the table; the catalogue must
		// not keep that.
		var options []string
		if err := s.db.QueryRow(context.Background(), `SELECT coalesce(reloptions, '{}') FROM pg_class
			WHERE oid = to_regclass(quote_ident(products_supplier_partition('acme', 's1')))`).Scan(&options); err != nil {
			t.Fatal(err)
		}
		if len(options) != 0 {
			t.Fatalf("the supplier's partition has storage options %v; want none (autovacuum on)", options)
		}
	})
	t.Run("a repeated SKU whose first row is unchanged: the last row still wins", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(header)
		for i := 1; i <= 10; i++ {
			if i == 5 {
				continue // missing: deactivated
			}
			price := "9.99"
			if i == 3 {
				price = "7.50" // as stored
			}
			b.WriteString(goodRow(i, price))
		}
		b.WriteString(goodRow(3, "6.00"))
		rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: s.serve("again.csv", b.String()), Format: "csv", Force: true})
		if err != nil || rep.Status != wf.StatusSucceeded || rep.Updated != 1 || rep.Duplicates != 1 || rep.Unchanged != 8 || rep.Deactivated != 1 {
			t.Fatalf("re-harvest = %+v, %v; want 1 updated, 1 duplicate, 8 unchanged, 1 deactivated", rep, err)
		}
		got := s.catalogue("acme", "s1")
		if !strings.Contains(got["SKU-003"], "|6.0000|") {
			t.Fatalf("SKU-003 = %s, want the last row's price 6.00", got["SKU-003"])
		}
		var reason string
		if err := s.db.QueryRow(context.Background(), `SELECT reason FROM harvest_rejects WHERE run_id = $1 AND row_no = 3`, rep.RunID).Scan(&reason); err != nil ||
			reason != "sku: duplicate, superseded by row 10" {
			t.Fatalf("reject of row 3 = %q, %v", reason, err)
		}
	})
}

func TestBrokenFeedLeavesCatalogueUntouched(t *testing.T) {
	s := newStack(t, "batch_size: 100\n")
	var b strings.Builder
	b.WriteString(header)
	for i := 1; i <= 20; i++ {
		b.WriteString(goodRow(i, "5.00"))
	}
	good := wf.Input{TenantID: "acme", SupplierCode: "s2", FeedURL: s.serve("good.csv", b.String()), Format: "csv"}
	if rep, err := s.harvest(good); err != nil || rep.Inserted != 20 {
		t.Fatalf("seed harvest: %+v %v", rep, err)
	}
	before := s.catalogue("acme", "s2")

	jsonRows := `[{"sku":"J1","name":"a","price":"1.00","currency":"EUR"},{"sku":"J2","name":"b","price":"2.0`
	tests := []struct {
		name, file, body, format, wantMsg string
	}{
		{name: "truncated json", file: "t.json", body: jsonRows, format: "json", wantMsg: "feed is truncated at its source"},
		// broken where only encoding/json sees it, on a normalising goroutine
		{name: "json with a bad number", file: "n.json", body: `[{"sku":"J1","name":"a","price":01,"currency":"EUR"}]`, format: "json", wantMsg: "feed is broken"},
		{name: "html page", file: "login.csv", body: "<!DOCTYPE html><html><body>Please log in</body></html>", format: "csv", wantMsg: "HTML"},
		{name: "404", file: "", format: "csv", wantMsg: "404"},
		{name: "not xml", file: "x.xml", body: "this is not xml", format: "xml", wantMsg: "feed is broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := s.server.URL + "/missing.csv"
			if tt.file != "" {
				url = s.serve(tt.file, tt.body)
			}
			in := wf.Input{TenantID: "acme", SupplierCode: "s2", FeedURL: url, Format: tt.format, RecordElement: "product", Force: true}
			_, err := s.harvest(in)
			var appErr *temporal.ApplicationError
			if err == nil || !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("harvest error = %v; want a non-retryable failure mentioning %q", err, tt.wantMsg)
			}
			if after := s.catalogue("acme", "s2"); !maps.Equal(before, after) {
				t.Fatal("a broken feed changed the catalogue")
			}
			var status string
			if err := s.db.QueryRow(context.Background(), `SELECT status FROM harvest_runs WHERE tenant_id='acme' AND supplier_code='s2' ORDER BY started_at DESC LIMIT 1`).Scan(&status); err != nil || status != wf.StatusFailed {
				t.Fatalf("run status = %q, %v; want failed", status, err)
			}
		})
	}
}

// TestFirstLoadBesideRowsMadeByHand: products of a tenant that nobody
// harvested yet (inserted by hand) sit in products' default partition; the
// tenant's first harvest moves them into the tenant's partition and loads
// beside them.
func TestFirstLoadBesideRowsMadeByHand(t *testing.T) {
	s := newStack(t, "batch_size: 100\n")
	ctx := context.Background()
	if _, err := s.db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, price, currency, availability, content_hash, first_seen, last_seen, last_run_id)
		VALUES ('hand', 'legacy', 'L-1', 'Old', 1, 'EUR', 'unknown', 'x', now(), now(), 'manual')`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(header)
	for i := 1; i <= 5; i++ {
		b.WriteString(goodRow(i, "5.00"))
	}
	rep, err := s.harvest(wf.Input{TenantID: "hand", SupplierCode: "new", FeedURL: s.serve("hand.csv", b.String()), Format: "csv"})
	if err != nil || rep.Status != wf.StatusSucceeded || rep.Inserted != 5 {
		t.Fatalf("harvest = %+v, %v", rep, err)
	}
	var where string
	if err := s.db.QueryRow(ctx, `SELECT tableoid::regclass::text FROM products WHERE tenant_id = 'hand' AND sku = 'L-1'`).Scan(&where); err != nil {
		t.Fatalf("the hand-made row is gone: %v", err)
	}
	if !strings.HasPrefix(where, "products_hand_") || !strings.HasSuffix(where, "_default") {
		t.Fatalf("hand-made row in %s, want the tenant's default partition", where)
	}
	if n := len(s.catalogue("hand", "new")); n != 5 {
		t.Fatalf("%d products harvested, want 5", n)
	}
}

// TestFirstLoadConstantsAreNotInTheRows: a first load's partition gets the
// columns that are the same on every row (run, first and last seen) as
// fast defaults, kept once in the catalogue rather than in each row, and
// with the right values; it holds the primary key's columns and what a
// re-harvest reads of each row first (loadLead), active among them. A
// re-harvest then writes through products into that partition, whose
// column order differs from products': the changed row and the new one
// carry the new run, the others keep the first.
func TestFirstLoadConstantsAreNotInTheRows(t *testing.T) {
	s := newStack(t, "max_deactivate_share: 0.5\nchain_gardener: false\n")
	ctx := context.Background()
	in := wf.Input{TenantID: "acme", SupplierCode: "fast", Format: "csv", Force: true}
	in.FeedURL = s.serve("fast-1.csv", feedOf(seq(1, 6)...))
	first, err := s.harvest(in)
	if err != nil || first.Status != wf.StatusSucceeded || first.Inserted != 6 {
		t.Fatalf("first harvest = %+v, %v", first, err)
	}
	var leaf string
	if err := s.db.QueryRow(ctx, `SELECT products_supplier_partition('acme', 'fast')`).Scan(&leaf); err != nil {
		t.Fatal(err)
	}
	var missing []string
	if err := s.db.QueryRow(ctx, `SELECT coalesce(array_agg(attname::text ORDER BY attname), '{}') FROM pg_attribute
		WHERE attrelid = to_regclass(quote_ident($1)) AND atthasmissing`, leaf).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if want := []string{"first_seen", "last_run_id", "last_seen"}; !slices.Equal(missing, want) {
		t.Fatalf("columns kept in the catalogue for the loaded rows: %v, want %v", missing, want)
	}
	var lead []string
	if err := s.db.QueryRow(ctx, `SELECT array_agg(attname::text ORDER BY attnum) FROM (SELECT attname, attnum FROM pg_attribute
		WHERE attrelid = to_regclass(quote_ident($1)) AND attnum > 0 AND NOT attisdropped ORDER BY attnum LIMIT 6) a`, leaf).Scan(&lead); err != nil {
		t.Fatal(err)
	}
	if want := []string{"sku", "supplier_code", "tenant_id", "content_hash", "source_key", "active"}; !slices.Equal(lead, want) {
		t.Fatalf("the partition's first columns: %v, want %v", lead, want)
	}
	var n, odd int
	if err := s.db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT (p.active AND p.last_run_id = $1
			AND p.first_seen = p.last_seen AND p.last_seen = c.changed_at AND p.last_seen <= r.staged_at))
		FROM products p, harvest_runs r, product_changes c
		WHERE p.tenant_id = 'acme' AND p.supplier_code = 'fast' AND r.run_id = $1 AND c.run_id = $1`, first.RunID).Scan(&n, &odd); err != nil {
		t.Fatal(err)
	}
	if n != 6 || odd != 0 {
		t.Fatalf("%d of %d loaded products lack the run, its time or active", odd, n)
	}

	// SKU 2 changes, 7 is new, 6 is gone.
	feed := strings.Replace(feedOf(append(seq(1, 5), 7)...), goodRow(2, "3.00"), goodRow(2, "4.00"), 1)
	in.FeedURL = s.serve("fast-2.csv", feed)
	second, err := s.harvest(in)
	if err != nil || second.Status != wf.StatusSucceeded || second.Inserted != 1 || second.Updated != 1 || second.Deactivated != 1 {
		t.Fatalf("second harvest = %+v, %v", second, err)
	}
	rows, err := s.db.Query(ctx, `SELECT sku, price::text, last_run_id, active, first_seen = last_seen, tableoid::regclass::text
		FROM products WHERE tenant_id = 'acme' AND supplier_code = 'fast' ORDER BY sku`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var sku, price, run, table string
		var active, unseen bool
		if err := rows.Scan(&sku, &price, &run, &active, &unseen, &table); err != nil {
			t.Fatal(err)
		}
		if table != leaf {
			t.Fatalf("%s is in %s, want %s", sku, table, leaf)
		}
		which := map[string]string{first.RunID: "first", second.RunID: "second"}[run]
		got = append(got, fmt.Sprintf("%s %s %s active=%t seen-once=%t", sku, price, which, active, unseen))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"SKU-001 3.0000 first active=true seen-once=true",
		"SKU-002 4.0000 second active=true seen-once=false",
		"SKU-003 3.0000 first active=true seen-once=true",
		"SKU-004 3.0000 first active=true seen-once=true",
		"SKU-005 3.0000 first active=true seen-once=true",
		"SKU-006 3.0000 second active=false seen-once=true",
		"SKU-007 3.0000 second active=true seen-once=true",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the re-harvest:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestFirstLoadAttributes: a first load whose mapping names no attributes
// leaves the column out of its COPY and gets the column's default, {},
// on every row; one that maps a feed column to an attribute loads it. The
// re-harvest of the second, with a colour changed, stores the new one.
func TestFirstLoadAttributes(t *testing.T) {
	s := newStack(t, "chain_gardener: false\n")
	ctx := context.Background()
	feed := "sku,name,price,currency,color\nA-1,Lamp,1.00,EUR,red\nA-2,Desk,2.00,EUR,\n"
	attributes := func(supplier string) string {
		t.Helper()
		var got string
		if err := s.db.QueryRow(ctx, `SELECT string_agg(sku || '=' || attributes::text, ' ' ORDER BY sku) FROM products
			WHERE tenant_id = 'acme' AND supplier_code = $1`, supplier).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		supplier string
		mapping  map[string]string
		want     string
	}{
		{"plain", nil, `A-1={} A-2={}`},
		{"coloured", map[string]string{"attributes.colour": "color"}, `A-1={"colour": "red"} A-2={}`},
	} {
		in := wf.Input{TenantID: "acme", SupplierCode: tc.supplier, Format: "csv", Mapping: tc.mapping, Force: true,
			FeedURL: s.serve(tc.supplier+".csv", feed)}
		rep, err := s.harvest(in)
		if err != nil || rep.Status != wf.StatusSucceeded || rep.Inserted != 2 {
			t.Fatalf("%s: first load = %+v, %v", tc.supplier, rep, err)
		}
		if got := attributes(tc.supplier); got != tc.want {
			t.Fatalf("%s: attributes %s, want %s", tc.supplier, got, tc.want)
		}
	}
	in := wf.Input{TenantID: "acme", SupplierCode: "coloured", Format: "csv", Mapping: map[string]string{"attributes.colour": "color"}, Force: true,
		FeedURL: s.serve("coloured-2.csv", strings.Replace(feed, "EUR,red", "EUR,blue", 1))}
	if rep, err := s.harvest(in); err != nil || rep.Status != wf.StatusSucceeded || rep.Updated != 1 {
		t.Fatalf("re-harvest = %+v, %v", rep, err)
	}
	if got, want := attributes("coloured"), `A-1={"colour": "blue"} A-2={}`; got != want {
		t.Fatalf("after the re-harvest: attributes %s, want %s", got, want)
	}
}
