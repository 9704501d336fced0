package harvest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	wf "contextworker/workflows/harvest"
)

// TestUnchangedReharvestMergesNothing: a re-harvest of an unchanged feed
// stages no row and, since unchanged-skips-merge, schedules no merge; its
// report still counts every product unchanged. Its history is the replay
// recording of that branch.
func TestUnchangedReharvestMergesNothing(t *testing.T) {
	s := newStack(t, "partitions: 4\nchain_gardener: false\n")
	in := wf.Input{TenantID: "acme", SupplierCode: "same", Format: "csv", Force: true}
	in.FeedURL = s.serve("same.csv", feedOf(seq(1, 20)...))
	if rep, err := s.harvest(in); err != nil || rep.Inserted != 20 {
		t.Fatalf("first load: %+v %v", rep, err)
	}
	rep, err := s.harvest(in)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != wf.StatusSucceeded || rep.Unchanged != 20 || rep.Inserted+rep.Updated+rep.Deactivated != 0 {
		t.Fatalf("unchanged re-harvest: %+v", rep)
	}
	it := s.tc.GetWorkflowHistory(context.Background(), rep.WorkflowID, rep.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var activities []string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			activities = append(activities, a.GetActivityType().GetName())
		}
	}
	if strings.Contains(strings.Join(activities, " "), wf.ActivityMerge) || len(activities) == 0 {
		t.Fatalf("activities %v: an unchanged re-harvest merged", activities)
	}
	if *updateHistory {
		s.saveHistory(rep.WorkflowID, rep.RunID, "../../workflows/harvest/testdata/harvest_history_unchanged.json")
	}
}

// TestReharvestLargeSupplier: a supplier's partition large enough to be
// read on several connections at once (one snapshot, block ranges), and
// rows found unchanged by their stored source key: a re-harvest still sees
// every stored product exactly once, writes only the changed one, and
// deactivates exactly the missing ones.
func TestReharvestLargeSupplier(t *testing.T) {
	if testing.Short() {
		t.Skip("harvests 50,000 products twice")
	}
	s := newStack(t, "chain_gardener: false\n")
	const n = 50000
	in := wf.Input{TenantID: "acme", SupplierCode: "big", Format: "csv", Force: true}
	in.FeedURL = s.serve("big.csv", feedOf(seq(1, n)...))
	if rep, err := s.harvest(in); err != nil || rep.Inserted != n {
		t.Fatalf("first load: %+v %v", rep, err)
	}
	var blocks int64
	if err := s.db.QueryRow(context.Background(), `SELECT pg_relation_size(to_regclass(quote_ident(products_supplier_partition('acme', 'big')))) / 8192`).
		Scan(&blocks); err != nil || blocks < 1024 {
		t.Fatalf("the supplier's partition has %d blocks (%v): too few to be read in parts", blocks, err)
	}
	var withKey int64
	if err := s.db.QueryRow(context.Background(), `SELECT count(source_key) FROM products WHERE tenant_id = 'acme' AND supplier_code = 'big'`).
		Scan(&withKey); err != nil || withKey != n {
		t.Fatalf("%d products store a source key (%v), want %d", withKey, err, n)
	}

	// The same feed without its first and last product, one price changed.
	feed := feedOf(seq(2, n-1)...)
	feed = strings.Replace(feed, goodRow(777, "3.00"), goodRow(777, "4.00"), 1)
	in.FeedURL = s.serve("big2.csv", feed)
	rep, err := s.harvest(in)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Updated != 1 || rep.Inserted != 0 || rep.Deactivated != 2 || rep.Unchanged != n-3 {
		t.Fatalf("re-harvest: %+v, want 1 updated, 2 deactivated, %d unchanged", rep, n-3)
	}
	cat := s.catalogue("acme", "big")
	for sku, want := range map[string]string{"SKU-001": "|inactive", "SKU-50000": "|inactive", "SKU-002": "|active"} {
		if !strings.HasSuffix(cat[sku], want) {
			t.Errorf("%s = %q, want suffix %q", sku, cat[sku], want)
		}
	}
	if !strings.Contains(cat["SKU-777"], "|4.0000|") {
		t.Errorf("SKU-777 = %q, want the new price", cat["SKU-777"])
	}
}

// TestReharvestYMLByText: YML records are keyed by their text. Unchanged
// offers are found so; a changed one is written (and keyed by its new
// text, so the next re-harvest finds it unchanged); an unchanged offer the
// feed repeats is a duplicate like any other; a missing one is
// deactivated.
func TestReharvestYMLByText(t *testing.T) {
	s := newStack(t, "chain_gardener: false\n")
	offer := func(i int, price string) string {
		return fmt.Sprintf(`<offer id="SKU-%03d"><name>Product %d</name><price>%s</price><currencyId>EUR</currencyId><categoryId>2</categoryId></offer>`, i, i, price)
	}
	yml := func(offers []string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><categories><category id="1">Home</category><category id="2" parentId="1">Lamps</category></categories><offers>` +
			strings.Join(offers, "\n") + `</offers></shop></yml_catalog>`
	}
	const n = 300
	var offers []string
	for i := 1; i <= n; i++ {
		offers = append(offers, offer(i, "3.00"))
	}
	in := wf.Input{TenantID: "acme", SupplierCode: "yml", Format: "yml", Force: true}
	in.FeedURL = s.serve("a.yml", yml(offers))
	if rep, err := s.harvest(in); err != nil || rep.Inserted != n {
		t.Fatalf("first load: %+v %v", rep, err)
	}
	if rep, err := s.harvest(in); err != nil || rep.Unchanged != n || rep.Inserted+rep.Updated+rep.Deactivated != 0 {
		t.Fatalf("unchanged re-harvest: %+v %v", rep, err)
	}
	before := s.catalogue("acme", "yml")

	// SKU-007's price changes, SKU-300 goes, SKU-100 comes twice.
	changed := append(slices.Clone(offers[:n-1]), offers[99])
	changed[6] = offer(7, "4.00")
	in.FeedURL = s.serve("b.yml", yml(changed))
	rep, err := s.harvest(in)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Updated != 1 || rep.Inserted != 0 || rep.Deactivated != 1 || rep.Duplicates != 1 {
		t.Fatalf("re-harvest: %+v, want 1 updated, 1 deactivated, 1 duplicate", rep)
	}
	cat := s.catalogue("acme", "yml")
	if !strings.Contains(cat["SKU-007"], "|4.0000|") || !strings.HasSuffix(cat["SKU-300"], "|inactive") ||
		!strings.HasSuffix(cat["SKU-100"], "|active") || strings.Split(cat["SKU-100"], "|")[0] != strings.Split(before["SKU-100"], "|")[0] {
		t.Fatalf("catalogue: SKU-007 %q, SKU-300 %q, SKU-100 %q", cat["SKU-007"], cat["SKU-300"], cat["SKU-100"])
	}
	var sku, reason string
	var row int64
	if err := s.db.QueryRow(context.Background(), `SELECT sku, row_no, reason FROM harvest_rejects WHERE run_id = $1`, rep.RunID).
		Scan(&sku, &row, &reason); err != nil || sku != "SKU-100" || row != 100 || !strings.Contains(reason, "duplicate") {
		t.Fatalf("reject: %s row %d: %s (%v), want SKU-100's first row, superseded", sku, row, reason, err)
	}
	in.FeedURL = s.serve("c.yml", yml(changed[:n-1]))
	if rep, err := s.harvest(in); err != nil || rep.Unchanged != n-1 || rep.Inserted+rep.Updated+rep.Deactivated != 0 {
		t.Fatalf("re-harvest after the change: %+v %v", rep, err)
	}
}
