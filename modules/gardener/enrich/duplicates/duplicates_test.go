package duplicates_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/duplicates"
)

func TestKey(t *testing.T) {
	both, err := duplicates.Build(duplicates.Config{ByGTIN: true, ByBrandName: true, MinMembers: 2})
	if err != nil {
		t.Fatal(err)
	}
	gtinOnly, err := duplicates.Build(duplicates.Config{ByGTIN: true, MinMembers: 2})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		e       *duplicates.Enricher
		p       enrich.Product
		wantKey string
	}{
		{name: "gtin13 as gtin14", e: gtinOnly, p: enrich.Product{GTIN: "4006381333931"}, wantKey: "gtin:04006381333931"},
		{name: "gtin14 with zero equals gtin13", e: gtinOnly, p: enrich.Product{GTIN: "04006381333931"}, wantKey: "gtin:04006381333931"},
		{name: "gtin wins over name", e: both, p: enrich.Product{GTIN: "4006381333931", Brand: "Bosch", Name: "Drill"}, wantKey: "gtin:04006381333931"},
		{name: "no gtin, names off", e: gtinOnly, p: enrich.Product{Brand: "Bosch", Name: "Drill"}},
		{name: "brand and name folded", e: both, p: enrich.Product{Brand: "BÖSCH", Name: "Drill  X-1"}, wantKey: "bn:bosch|drill x 1"},
		{name: "brand repeated in name", e: both, p: enrich.Product{Brand: "Bosch", Name: "Bosch Drill X-1"}, wantKey: "bn:bosch|drill x 1"},
		{name: "normalised brand from the brand enricher", e: both,
			p:       enrich.Product{Brand: "Robert Bosch", Name: "Drill X-1", Stored: map[string]json.RawMessage{"brand": json.RawMessage(`{"name":"Bosch","key":"bosch"}`)}},
			wantKey: "bn:bosch|drill x 1"},
		{name: "no brand", e: both, p: enrich.Product{Name: "Drill"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := tt.e.Key(&tt.p)
			if tt.wantKey == "" {
				if ok {
					t.Fatalf("Key = %+v, want none", v)
				}
				return
			}
			if !ok || v.Key != tt.wantKey || v.GroupID != duplicates.GroupID(tt.wantKey) {
				t.Fatalf("Key = %+v %v, want %s", v, ok, tt.wantKey)
			}
		})
	}
}

func TestGroupIDMatchesSQL(t *testing.T) {
	// SELECT 'g' || left(md5('gtin:04006381333931'), 16)
	if got := duplicates.GroupID("gtin:04006381333931"); got != "g34c7db00ea2cb8c6" {
		t.Fatalf("GroupID = %s", got)
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg     duplicates.Config
		wantErr string
	}{
		{duplicates.Config{ByGTIN: true, MinMembers: 1}, "min_members"},
		{duplicates.Config{MinMembers: 2}, "enable at least one"},
	} {
		if _, err := duplicates.Build(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Build(%+v) = %v, want %q", tt.cfg, err, tt.wantErr)
		}
	}
}

// TestSparseMarks: a changed product of a sparse run marks the keys whose
// groups it may have changed: the key it left and the key it joined (by a
// new key, or by becoming active in the window). A product active before
// the window that keeps its key marks nothing: its change (a price) moves
// it in no group, and marking it made the pass look for every such key.
func TestSparseMarks(t *testing.T) {
	e, err := duplicates.Build(duplicates.Config{ByGTIN: true, MinMembers: 2})
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "4006381333931", "5012345678900"
	keyA, keyB := "gtin:0"+a, "gtin:0"+b
	stored := func(key string) map[string]json.RawMessage {
		return map[string]json.RawMessage{duplicates.Field: json.RawMessage(`{"by": "gtin", "key": "` + key + `", "group_id": "` + duplicates.GroupID(key) + `"}`)}
	}
	tests := []struct {
		name      string
		p         enrich.Product
		sparse    bool
		wantMarks []string
	}{
		{name: "price change, same key", p: enrich.Product{GTIN: a, Changed: true, Stored: stored(keyA)}, sparse: true},
		{name: "reactivated, same key", p: enrich.Product{GTIN: a, Changed: true, Activated: true, Stored: stored(keyA)}, sparse: true, wantMarks: []string{keyA}},
		{name: "new product", p: enrich.Product{GTIN: a, Changed: true, Activated: true}, sparse: true, wantMarks: []string{keyA}},
		{name: "first key of a known product", p: enrich.Product{GTIN: a, Changed: true}, sparse: true, wantMarks: []string{keyA}},
		{name: "key changed", p: enrich.Product{GTIN: b, Changed: true, Stored: stored(keyA)}, sparse: true, wantMarks: []string{keyA, keyB}},
		{name: "key lost", p: enrich.Product{Changed: true, Stored: stored(keyA)}, sparse: true, wantMarks: []string{keyA}},
		{name: "stored value unreadable", p: enrich.Product{GTIN: a, Changed: true,
			Stored: map[string]json.RawMessage{duplicates.Field: json.RawMessage(`{"key":`)}}, sparse: true, wantMarks: []string{keyA}},
		{name: "stored in another spelling, same key", p: enrich.Product{GTIN: a, Changed: true,
			Stored: map[string]json.RawMessage{duplicates.Field: json.RawMessage(`{"key":"` + keyA + `","by":"gtin"}`)}}, sparse: true},
		{name: "unchanged product", p: enrich.Product{GTIN: b, Stored: stored(keyA)}, sparse: true},
		{name: "full run marks nothing", p: enrich.Product{GTIN: b, Changed: true, Activated: true, Stored: stored(keyA)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := enrich.NewPipeline(enrich.Step{Name: duplicates.Name, Version: duplicates.Version, Enricher: e})
			p := tt.p
			out, err := pl.Run(context.Background(), enrich.Run{ID: "r", TenantID: "t", Sparse: tt.sparse}, []*enrich.Product{&p}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range out.Marks {
				if m.Name != duplicates.MarkTouched {
					t.Fatalf("mark %+v, want only %s", m, duplicates.MarkTouched)
				}
				got = append(got, m.Key)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantMarks) {
				t.Fatalf("marks %q, want %q", got, tt.wantMarks)
			}
		})
	}
}
