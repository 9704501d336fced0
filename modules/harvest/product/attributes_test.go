package product

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAttributesLookup(t *testing.T) {
	m := map[string]string{"size": "L", "color": "red", "вес": "1 kg", "a": "x"}
	a := AttributesOf(m)
	if !slices.IsSortedFunc(a, compareAttributes) || len(a) != len(m) {
		t.Fatalf("AttributesOf = %v: not sorted, or not all of them", a)
	}
	for k, v := range m {
		if got, ok := a.Lookup(k); !ok || got != v {
			t.Errorf("Lookup(%q) = %q, %v; want %q", k, got, ok, v)
		}
	}
	if got, ok := a.Lookup("colour"); ok || got != "" || a.Get("colour") != "" {
		t.Errorf(`Lookup("colour") = %q, %v; want none`, got, ok)
	}
	if !maps.Equal(a.Map(), m) {
		t.Errorf("Map = %v, want %v", a.Map(), m)
	}
	if AttributesOf(nil) != nil || Attributes(nil).Map() != nil {
		t.Error("no attributes should give nil both ways")
	}
}

// TestAttributesJSON: Attributes read and write as the JSON object of a map.
func TestAttributesJSON(t *testing.T) {
	m := map[string]string{"size": "L", "color": "red", "quote": `"`}
	got, err := json.Marshal(AttributesOf(m))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m)
	if string(got) != string(want) {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var back Attributes
	if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(back, AttributesOf(m)) {
		t.Errorf("Unmarshal = %v, %v", back, err)
	}
	if b, _ := json.Marshal(Attributes(nil)); string(b) != "null" {
		t.Errorf("nil marshals to %s", b)
	}
	if err := json.Unmarshal([]byte(`["x"]`), &back); err == nil {
		t.Error("an array unmarshalled as attributes")
	}
}

// TestFinishAttributes: sorted by key, each key's values joined in the
// order they came and without repeats, long values truncated.
func TestFinishAttributes(t *testing.T) {
	long := strings.Repeat("ж", MaxAttributeLen+5)
	in := Attributes{{"size", "L"}, {"color", "red"}, {"size", "M"}, {"color", "red"}, {"size", "L"}, {"note", long}}
	got := finishAttributes(in)
	want := Attributes{{"color", "red"}, {"note", long[:2*MaxAttributeLen]}, {"size", "L, M"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("finishAttributes = %q, want %q", got, want)
	}
	if finishAttributes(Attributes{}) != nil {
		t.Error("no attributes should give nil")
	}
}

// TestFinishAttributesMany: a record with a hundred thousand distinct keys,
// given in reverse, comes out sorted and whole (the sort is O(n log n):
// inserting each in order would be quadratic).
func TestFinishAttributesMany(t *testing.T) {
	const n = 100000
	var in Attributes
	for i := n - 1; i >= 0; i-- {
		in = append(in, Attribute{fmt.Sprintf("k%06d", i), "v"}, Attribute{fmt.Sprintf("k%06d", i), "w"})
	}
	got := finishAttributes(in)
	if len(got) != n || !slices.IsSortedFunc(got, compareAttributes) || got[0] != (Attribute{"k000000", "v, w"}) {
		t.Fatalf("%d attributes, first %v", len(got), got[0])
	}
}
