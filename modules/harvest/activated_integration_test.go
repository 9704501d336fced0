package harvest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	wf "contextworker/workflows/harvest"
)

// TestActivatedAt: products.activated_at says when a product last became
// active. A merge sets it for products it inserts or reactivates and keeps
// it for active products it updates (their last_seen before the update
// where a first load left it unrecorded); a deactivation leaves it. The
// gardener tells a product that came back from one whose price changed by
// it.
func TestActivatedAt(t *testing.T) {
	s := newStack(t, "max_deactivate_share: 0.5\nchain_gardener: false\n")
	in := wf.Input{TenantID: "acme", SupplierCode: "a1", Format: "csv", Force: true}
	feed := func(name string, rows ...string) {
		t.Helper()
		in.FeedURL = s.serve(name, header+strings.Join(rows, ""))
		if _, err := s.harvest(in); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	type state struct {
		activated, lastSeen *time.Time
		active              bool
	}
	read := func() map[string]state {
		t.Helper()
		rows, err := s.db.Query(context.Background(), `SELECT sku, activated_at, last_seen, active FROM products
			WHERE tenant_id = 'acme' AND supplier_code = 'a1'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]state{}
		for rows.Next() {
			var sku string
			var st state
			if err := rows.Scan(&sku, &st.activated, &st.lastSeen, &st.active); err != nil {
				t.Fatal(err)
			}
			out[sku] = st
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	feed("first.csv", goodRow(1, "3.00"), goodRow(2, "3.00"), goodRow(3, "3.00"))
	first := read()
	for sku, st := range first {
		if st.activated != nil {
			t.Fatalf("%s after a first load: activated_at %v, want none recorded (last_seen stands in)", sku, st.activated)
		}
	}

	feed("second.csv", goodRow(1, "3.00"), goodRow(2, "4.00"), goodRow(4, "3.00"))
	second := read()
	if st := second["SKU-004"]; st.activated == nil || !st.activated.Equal(*st.lastSeen) {
		t.Fatalf("inserted SKU-004: %+v, want activated when it was last seen", st)
	}
	if st := second["SKU-002"]; st.activated == nil || !st.activated.Equal(*first["SKU-002"].lastSeen) || !st.lastSeen.After(*st.activated) {
		t.Fatalf("updated SKU-002: activated %v, want its last_seen before the update (%v)", st.activated, first["SKU-002"].lastSeen)
	}
	if st := second["SKU-003"]; st.active || st.activated != nil {
		t.Fatalf("deactivated SKU-003: %+v, want inactive and activated_at left as it was", st)
	}

	feed("third.csv", goodRow(1, "3.00"), goodRow(2, "5.00"), goodRow(3, "3.00"), goodRow(4, "3.00"))
	third := read()
	if st := third["SKU-003"]; !st.active || st.activated == nil || !st.activated.Equal(*st.lastSeen) {
		t.Fatalf("reactivated SKU-003: %+v, want active and activated when it was last seen", st)
	}
	if st := third["SKU-002"]; st.activated == nil || !st.activated.Equal(*second["SKU-002"].activated) {
		t.Fatalf("SKU-002 updated again: activated %v, want %v kept", st.activated, second["SKU-002"].activated)
	}
	if st := third["SKU-001"]; st.activated != nil || !st.lastSeen.Equal(*first["SKU-001"].lastSeen) {
		t.Fatalf("unchanged SKU-001: %+v, want it untouched", st)
	}
}
