package harvest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"contextworker/internal/dev/feedgen"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
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
// checkpoint replayed but not emitted, and unchanged products not written.
func TestProducerKeepsFeedOrder(t *testing.T) {
	o := feedgen.Options{N: 5000, Seed: 3, BadShare: 0.05, Format: "csv"}
	data := generated(t, o)
	items, dups := produce(t, data, producerOptions{parts: 4, done: doneRows{prefix: 1000}})
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

	// Store every product of rows 1001.. unchanged, plus one the feed
	// lacks: nothing is written, and only that one is missing.
	ex := existingOf(t, items, "NOT-IN-FEED")
	again, _ := produce(t, data, producerOptions{parts: 4, done: doneRows{prefix: 1000}, existing: ex})
	if len(again) != 4000 {
		t.Fatalf("%d items on the second pass", len(again))
	}
	for _, it := range again {
		if it.tuple != nil {
			t.Fatalf("row %d of an unchanged product is written", it.row)
		}
	}
	missing := ex.missing()
	if _, ok := missing[keysOf("NOT-IN-FEED")]; !ok || len(missing) != 1 {
		t.Fatalf("missing = %v, want only NOT-IN-FEED", missing)
	}
}

// existingOf stores the products of items (staging layout) as unchanged
// and the extra SKUs with some other content.
func existingOf(t testing.TB, items []item, extra ...string) *existingSet {
	t.Helper()
	ex := &existingSet{}
	for _, it := range items {
		if it.valid {
			ex.add(keysOf(it.sku), hashKey(it.hash))
		}
	}
	for _, sku := range extra {
		ex.add(keysOf(sku), 1)
	}
	ex.sort()
	return ex
}

func TestProducerSeesDuplicates(t *testing.T) {
	data := []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\nA,a2,2.00,EUR\n")
	if _, dups := produce(t, data, producerOptions{parts: 2}); !dups {
		t.Fatal("duplicate SKU A not noticed")
	}
	// Replayed rows count too: the first A is before the checkpoint.
	if _, dups := produce(t, data, producerOptions{parts: 2, done: doneRows{prefix: 2}}); !dups {
		t.Fatal("duplicate SKU A not noticed across the checkpoint")
	}
}

// TestProducerStagesRepeatedUnchanged: a stored, unchanged product that the
// feed repeats is staged at every occurrence (the first slim, late, right
// before the repeat), so the merge can keep the last and reject the rest.
func TestProducerStagesRepeatedUnchanged(t *testing.T) {
	first, _ := produce(t, []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\n"), producerOptions{parts: 2})
	ex := existingOf(t, first)
	data := []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\nA,a2,2.00,EUR\n")
	items, dups := produce(t, data, producerOptions{parts: 2, existing: ex})
	if !dups {
		t.Fatal("duplicate SKU A not noticed")
	}
	var got []string
	for _, it := range items {
		switch {
		case it.tuple == nil:
			got = append(got, fmt.Sprintf("%d:skip", it.row))
		case it.tuple[len(it.tuple)-1] == 1: // unchanged = true
			got = append(got, fmt.Sprintf("%d:slim:%v", it.row, it.retro))
		default:
			got = append(got, fmt.Sprintf("%d:full:%v", it.row, bytes.Contains(it.tuple, []byte("a2"))))
		}
	}
	want := "[1:skip 2:skip 1:slim:true 3:full:true]"
	if fmt.Sprint(got) != want {
		t.Fatalf("items %v, want %s", got, want)
	}

	// Resumed after row 1: row 1 is replayed, not written, but its repeat
	// still stages it late.
	for i := range ex.state {
		ex.state[i] = seenState{}
	}
	items, _ = produce(t, data, producerOptions{parts: 2, existing: ex, done: doneRows{prefix: 1}})
	got = got[:0]
	for _, it := range items {
		switch {
		case it.tuple == nil:
			got = append(got, fmt.Sprintf("%d:skip", it.row))
		case it.tuple[len(it.tuple)-1] == 1:
			got = append(got, fmt.Sprintf("%d:slim:%v", it.row, it.retro))
		default:
			got = append(got, fmt.Sprintf("%d:full", it.row))
		}
	}
	if want := "[2:skip 1:slim:true 3:full]"; fmt.Sprint(got) != want {
		t.Fatalf("resumed: items %v, want %s", got, want)
	}
}

// BenchmarkProducer measures parse + normalise + row building, the Go side
// of staging, on 100k generated products.
func BenchmarkProducer(b *testing.B) {
	data := generated(b, feedgen.Options{N: 100000, Seed: 1, BadShare: 0.01, Format: "csv"})
	b.ResetTimer()
	for range b.N {
		produce(b, data, producerOptions{parts: 8, load: true})
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkProducerUnchanged is the Go side of an unchanged re-harvest:
// every product stored and equal, nothing to write.
func BenchmarkProducerUnchanged(b *testing.B) {
	data := generated(b, feedgen.Options{N: 100000, Seed: 1, BadShare: 0.01, Format: "csv"})
	first, _ := produce(b, data, producerOptions{parts: 8})
	ex := existingOf(b, first)
	b.ResetTimer()
	for range b.N {
		for i := range ex.state {
			ex.state[i] = seenState{}
		}
		produce(b, data, producerOptions{parts: 8, existing: ex})
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
