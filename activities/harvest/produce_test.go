package harvest

import (
	"bytes"
	"context"
	"testing"

	"contextworker/internal/feed"
	"contextworker/internal/feedgen"
	"contextworker/internal/product"
)

func generated(t testing.TB, o feedgen.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := feedgen.Write(&buf, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func produce(t testing.TB, data []byte, o producerOptions) ([]item, bool) {
	t.Helper()
	r, err := feed.Open(bytes.NewReader(data), feed.Options{Format: feed.CSV})
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProducer(context.Background(), r, func() (*product.Normalizer, error) {
		return product.NewNormalizer(product.Options{Format: "csv"})
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	var out []item
	for c := range p.out {
		out = append(out, c...)
	}
	return out, p.dups.Load()
}

// TestProducerKeepsFeedOrder: rows come out in feed order (checkpoints are
// feed-order prefixes), rejects where the feed has them, rows before the
// checkpoint skipped, and unchanged products staged slim.
func TestProducerKeepsFeedOrder(t *testing.T) {
	o := feedgen.Options{N: 5000, Seed: 3, BadShare: 0.05, Format: "csv"}
	data := generated(t, o)
	items, dups := produce(t, data, producerOptions{parts: 4, skipTo: 1000, existing: map[uint64]uint64{}})
	if dups {
		t.Fatal("no duplicate SKUs in the feed, but dups reported")
	}
	if len(items) != 4000 {
		t.Fatalf("%d items after skipping 1000 of 5000", len(items))
	}
	for i, it := range items {
		if it.row != int64(1001+i) {
			t.Fatalf("item %d has row %d: out of order", i, it.row)
		}
		_, valid := feedgen.Record(o, int(it.row-1))
		if valid != (it.rej == nil) {
			t.Fatalf("row %d: valid=%v but reject=%v", it.row, valid, it.rej)
		}
	}

	// Mark every product as stored unchanged: all valid rows go slim.
	existing := map[uint64]uint64{}
	for _, it := range items {
		if it.values != nil {
			existing[skuKey(it.values[2].(string))] = hashKey(it.values[15].(string))
		}
	}
	again, _ := produce(t, data, producerOptions{parts: 4, skipTo: 1000, existing: existing})
	for _, it := range again {
		if it.values != nil && (it.values[3] != nil || it.values[16] != true) {
			t.Fatalf("row %d not staged slim: %v", it.row, it.values)
		}
	}
}

func TestProducerSeesDuplicates(t *testing.T) {
	data := []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\nA,a2,2.00,EUR\n")
	if _, dups := produce(t, data, producerOptions{parts: 2, existing: map[uint64]uint64{}}); !dups {
		t.Fatal("duplicate SKU A not noticed")
	}
}

// BenchmarkProducer measures parse + normalise + row building, the Go side
// of staging, on 100k generated products.
func BenchmarkProducer(b *testing.B) {
	data := generated(b, feedgen.Options{N: 100000, Seed: 1, BadShare: 0.01, Format: "csv"})
	b.ResetTimer()
	for range b.N {
		produce(b, data, producerOptions{parts: 8, existing: map[uint64]uint64{}})
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
