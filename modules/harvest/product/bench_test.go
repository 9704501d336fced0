package product

import (
	"iter"
	"strings"
	"testing"
)

// fieldRecord is a Source shaped like feed.Record: a slice of fields in
// document order, scanned by Get and All. The map-based test record sorts
// its keys in Pairs, which would dominate the benchmark.
type fieldRecord []struct{ name, value string }

func newFieldRecord(r record) fieldRecord {
	var f fieldRecord
	for name, v := range r.Pairs() {
		f = append(f, struct{ name, value string }{name, v})
	}
	return f
}

func (r fieldRecord) Get(name string) string {
	for _, f := range r {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

func (r fieldRecord) All(name string) []string {
	var vs []string
	for _, f := range r {
		if f.name == name {
			vs = append(vs, f.value)
		}
	}
	return vs
}

func (r fieldRecord) Pairs() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range r {
			if !yield(f.name, f.value) {
				return
			}
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	n := newNormalizer(b, Options{Format: "yml"})
	rec := newFieldRecord(ymlOffer())
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		if _, err := n.Normalize(rec); err != nil {
			b.Fatal(err)
		}
		records++
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkNormalizeCSV(b *testing.B) {
	n := newNormalizer(b, Options{DefaultCurrency: "EUR"})
	rec := newFieldRecord(record{
		"sku": {"HM-3000"}, "name": {"Claw hammer 500 g"}, "brand": {"ACME"},
		"gtin": {"4006381333931"}, "price": {"12.50"}, "stock": {"4"},
		"category": {"Tools/Hammers"}, "url": {"https://x.example/p/hm-3000"},
		"images": {"https://x.example/1.jpg"},
	})
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		if _, err := n.Normalize(rec); err != nil {
			b.Fatal(err)
		}
		records++
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkHash(b *testing.B) {
	p := sampleProduct()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Hash()
	}
}

// BenchmarkStoredHash is the hash every first-loaded product costs, against
// the SHA-256 key that rows from before migration 0021 are compared by.
func BenchmarkStoredHash(b *testing.B) {
	p := sampleProduct()
	p.Description = strings.Repeat("A steel hammer with a fibreglass handle. ", 5)
	b.Run("xxh64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = p.StoredHash()
		}
	})
	b.Run("legacy-sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.LegacyHashKey()
		}
	})
}
