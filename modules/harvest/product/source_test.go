package product

import (
	"iter"
	"maps"
	"slices"
	"testing"
)

// record is a test Source: feed field name -> values.
type record map[string][]string

func (r record) Get(name string) string {
	if v := r[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (r record) All(name string) []string { return r[name] }

// Pairs yields the fields in sorted name order; a map has no document
// order, and sorting keeps tests deterministic.
func (r record) Pairs() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, name := range slices.Sorted(maps.Keys(r)) {
			for _, v := range r[name] {
				if !yield(name, v) {
					return
				}
			}
		}
	}
}

// with returns a copy of r with name set to values (deleted when none).
func (r record) with(name string, values ...string) record {
	c := make(record, len(r)+1)
	for k, v := range r {
		c[k] = v
	}
	if len(values) == 0 {
		delete(c, name)
	} else {
		c[name] = values
	}
	return c
}

var (
	_ Source     = record(nil)
	_ Enumerator = record(nil)
)

// newNormalizer builds a Normalizer or fails the test.
func newNormalizer(t testing.TB, opts Options) *Normalizer {
	t.Helper()
	n, err := NewNormalizer(opts)
	if err != nil {
		t.Fatalf("NewNormalizer(%+v): %v", opts, err)
	}
	return n
}

// ymlOffer is a complete, valid YML offer.
func ymlOffer() record {
	return record{
		"@id":          {"12345"},
		"@available":   {"true"},
		"name":         {"Смартфон  Apple iPhone 15 128GB"},
		"vendor":       {"Apple"},
		"vendorCode":   {"MTP03"},
		"price":        {"89 990,00"},
		"currencyId":   {"RUR"},
		"categoryPath": {"Электроника > Телефоны > Смартфоны"},
		"url":          {"https://shop.example/p/12345"},
		"picture":      {"https://img.example/1.jpg", "https://img.example/2.jpg", "https://img.example/1.jpg"},
		"barcode":      {"4006381333931"},
		"description":  {"<p>Новый <b>iPhone</b>&nbsp;15.</p><p>Гарантия&nbsp;1&nbsp;год.</p>"},
		"count":        {"7"},
		"param:Color":  {"чёрный"},
		"param:Weight": {"171 g"},
	}
}
