package harvest_test

import (
	"context"
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
