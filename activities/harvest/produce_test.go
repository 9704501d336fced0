package harvest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

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

// startCSV starts a producer on CSV data, with the default mapping.
func startCSV(t testing.TB, data []byte, o producerOptions) *producer {
	t.Helper()
	return startFeed(t, data, feed.Options{Format: feed.CSV}, o)
}

// startFeed starts a producer on data read with opts, with the default
// mapping.
func startFeed(t testing.TB, data []byte, opts feed.Options, o producerOptions) *producer {
	t.Helper()
	r, err := feed.Open(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProducer(context.Background(), r, func() (*product.Normalizer, error) {
		return product.NewNormalizer(product.Options{Format: string(opts.Format)})
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func produce(t testing.TB, data []byte, o producerOptions) ([]item, bool) {
	t.Helper()
	p := startCSV(t, data, o)
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
	// lacks: nothing is written, and only that one is missing; whether the
	// producer finds them unchanged by source key or by content hash.
	for _, bySource := range []bool{false, true} {
		t.Run(fmt.Sprintf("by source key %v", bySource), func(t *testing.T) {
			ex := existingOf(t, items, bySource, "NOT-IN-FEED")
			again, _ := produce(t, data, producerOptions{parts: 4, done: doneRows{prefix: 1000}, existing: ex})
			if len(again) != 4000 {
				t.Fatalf("%d items on the second pass", len(again))
			}
			for _, it := range again {
				if it.tuple != nil {
					t.Fatalf("row %d of an unchanged product is written", it.row)
				}
				if it.valid && (it.hk == 0) != bySource {
					t.Fatalf("row %d: hash key %x: normalised %v, want %v", it.row, it.hk, it.hk != 0, !bySource)
				}
			}
			missing := ex.missing()
			if _, ok := missing[keysOf("NOT-IN-FEED")]; !ok || len(missing) != 1 {
				t.Fatalf("missing = %v, want only NOT-IN-FEED", missing)
			}
		})
	}
}

// TestProducerSourceKeyIsBoundToContent: a stored source key counts only
// with the content hash it was stored with. A product whose content was
// rewritten without its key (by a worker older than source_key) is
// compared by normalising, and written when it differs.
func TestProducerSourceKeyIsBoundToContent(t *testing.T) {
	data := generated(t, feedgen.Options{N: 500, Seed: 5, Format: "csv"})
	items, _ := produce(t, data, producerOptions{parts: 2})
	ex := existingOf(t, items, true)
	ex.all(func(e *existing) { e.hash ^= 1 }) // other content, same stored source key
	again, _ := produce(t, data, producerOptions{parts: 2, existing: ex})
	for _, it := range again {
		if it.valid && (it.tuple == nil || it.hk == 0) {
			t.Fatalf("row %d: stored content differs, but the row is not written", it.row)
		}
	}
	// A changed record has another source key: normalised and written.
	changed := bytes.Replace(data, []byte(",EUR,"), []byte(",USD,"), 1)
	ex = existingOf(t, items, true)
	again, _ = produce(t, changed, producerOptions{parts: 2, existing: ex})
	written := 0
	for _, it := range again {
		if it.tuple != nil {
			written++
		}
	}
	if written != 1 {
		t.Fatalf("%d rows written after changing one, want 1", written)
	}
}

// existingOf stores the products of items (staging layout) as unchanged
// and the extra SKUs with some other content. With bySource, products keep
// the source key their tuple carries, so the producer may find them
// unchanged without normalising; without it, they have none (stored by an
// older worker) and are compared by content hash.
func existingOf(t testing.TB, items []item, bySource bool, extra ...string) *existingSet {
	t.Helper()
	ex := &existingSet{}
	for _, it := range items {
		if it.valid {
			var source uint64
			if bySource {
				if source = tupleSource(it.tuple); source == 0 {
					t.Fatalf("row %d: no source key in its tuple", it.row)
				}
			}
			ex.add(keysOf(it.sku), it.hk, source)
		}
	}
	for _, sku := range extra {
		ex.add(keysOf(sku), 1, 0)
	}
	return ex
}

// tupleSource reads the source key that ends a staging tuple (0 if NULL).
func tupleSource(t tuple) uint64 {
	if len(t) < 12 || binary.BigEndian.Uint32(t[len(t)-12:]) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(t[len(t)-8:])
}

// tupleUnchanged reads a staging tuple's unchanged flag, which precedes its
// source key.
func tupleUnchanged(t tuple) bool {
	if tupleSource(t) != 0 {
		return t[len(t)-13] == 1
	}
	return t[len(t)-5] == 1
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

// TestProducerNamesFirstLoadDuplicates: a first load names each SKU its
// feed repeats once, however often it repeats and across the checkpoint,
// and no other.
func TestProducerNamesFirstLoadDuplicates(t *testing.T) {
	data := []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\nA,a2,2.00,EUR\nC,c,1.00,EUR\nA,a3,3.00,EUR\nC,c2,1.00,EUR\n")
	for _, tc := range []struct {
		name string
		done doneRows
	}{
		{"from the start", doneRows{}},
		{"resumed after row 2", doneRows{prefix: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startCSV(t, data, producerOptions{parts: 2, load: true, done: tc.done})
			for range p.out {
			}
			if !p.dups.Load() {
				t.Error("duplicates not noticed")
			}
			if want := []string{"A", "C"}; !slices.Equal(p.dupSKUs, want) {
				t.Errorf("duplicate SKUs %q, want %q", p.dupSKUs, want)
			}
		})
	}
}

// TestProducerBoundsFirstLoadDuplicates: a feed that repeats more SKUs
// than maxDupSKUs has the first maxDupSKUs of them named, and no more.
func TestProducerBoundsFirstLoadDuplicates(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("sku,name,price,currency\n")
	for range 2 {
		for i := range maxDupSKUs + 10 {
			fmt.Fprintf(&b, "S%d,n,1.00,EUR\n", i)
		}
	}
	p := startCSV(t, b.Bytes(), producerOptions{parts: 2, load: true})
	for range p.out {
	}
	if len(p.dupSKUs) != maxDupSKUs || p.dupSKUs[0] != "S0" || p.dupSKUs[maxDupSKUs-1] != fmt.Sprintf("S%d", maxDupSKUs-1) {
		t.Fatalf("%d duplicate SKUs named (first %q), want the first %d", len(p.dupSKUs), p.dupSKUs[:min(1, len(p.dupSKUs))], maxDupSKUs)
	}
}

// TestProducerStagesRepeatedUnchanged: a stored, unchanged product that the
// feed repeats is staged at every occurrence (the first slim, late, right
// before the repeat), so the merge can keep the last and reject the rest.
func TestProducerStagesRepeatedUnchanged(t *testing.T) {
	for _, bySource := range []bool{false, true} {
		t.Run(fmt.Sprintf("by source key %v", bySource), func(t *testing.T) {
			first, _ := produce(t, []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\n"), producerOptions{parts: 2})
			ex := existingOf(t, first, bySource)
			// D follows the repeat in its chunk, which the producer filters
			// in place: the slim row staged late must not overwrite it.
			data := []byte("sku,name,price,currency\nA,a,1.00,EUR\nB,b,1.00,EUR\nA,a2,2.00,EUR\nD,d,1.00,EUR\n")
			items, dups := produce(t, data, producerOptions{parts: 2, existing: ex})
			if !dups {
				t.Fatal("duplicate SKU A not noticed")
			}
			var got []string
			for _, it := range items {
				switch {
				case it.tuple == nil:
					got = append(got, fmt.Sprintf("%d:skip", it.row))
				case tupleUnchanged(it.tuple):
					got = append(got, fmt.Sprintf("%d:slim:%v", it.row, it.retro))
				default:
					// true: the name a2 (length-prefixed, unlike the hex of a hash)
					got = append(got, fmt.Sprintf("%d:full:%v", it.row, bytes.Contains(it.tuple, []byte("\x00\x00\x00\x02a2"))))
				}
			}
			want := "[1:skip 2:skip 1:slim:true 3:full:true 4:full:false]"
			if fmt.Sprint(got) != want {
				t.Fatalf("items %v, want %s", got, want)
			}

			// Resumed after row 1: row 1 is replayed, not written, but its repeat
			// still stages it late.
			ex.all(func(e *existing) { e.first, e.skipped = 0, false })
			items, _ = produce(t, data, producerOptions{parts: 2, existing: ex, done: doneRows{prefix: 1}})
			got = got[:0]
			for _, it := range items {
				switch {
				case it.tuple == nil:
					got = append(got, fmt.Sprintf("%d:skip", it.row))
				case tupleUnchanged(it.tuple):
					got = append(got, fmt.Sprintf("%d:slim:%v", it.row, it.retro))
				default:
					got = append(got, fmt.Sprintf("%d:full", it.row))
				}
			}
			if want := "[2:skip 1:slim:true 3:full 4:full]"; fmt.Sprint(got) != want {
				t.Fatalf("resumed: items %v, want %s", got, want)
			}

		})
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
	ex := existingOf(b, first, true)
	b.ResetTimer()
	for range b.N {
		ex.all(func(e *existing) { e.first, e.skipped = 0, false })
		produce(b, data, producerOptions{parts: 8, existing: ex})
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestExistingSetFinds: every stored product is found by its keys,
// including keys that share a 64-bit key or are all zero, and no other;
// whether it was sized for them beforehand or grew while they were added,
// and when two goroutines' adders add them at once (the parts of a
// parallel read).
func TestExistingSetFinds(t *testing.T) {
	for _, c := range []struct {
		name    string
		reserve int
		adders  int
	}{{"grown", 0, 1}, {"reserved", 20003, 1}, {"reserved too few, two adders", 1000, 2}, {"grown, three adders", 0, 3}} {
		t.Run(c.name, func(t *testing.T) {
			var keys []skuKeys
			for i := range 20000 {
				keys = append(keys, keysOf(fmt.Sprintf("SKU-%d", i)))
			}
			// same 64-bit key, other check; zero keys; and the largest
			twin := skuKeys{key: keys[0].key, check: keys[0].check + 1}
			keys = append(keys, twin, skuKeys{}, skuKeys{key: ^uint64(0), check: 7})
			ex := &existingSet{}
			ex.reserve(c.reserve)
			var wg sync.WaitGroup
			for a := range c.adders {
				wg.Go(func() {
					if c.adders == 1 {
						for i, k := range keys {
							ex.add(k, uint64(i), 0)
						}
						return
					}
					ad := existingAdder{set: ex}
					for i := a; i < len(keys); i += c.adders {
						ad.add(keys[i], uint64(i), product.XXHash, 0)
					}
					ad.flush()
				})
			}
			wg.Wait()
			if ex.len() != int64(len(keys)) {
				t.Fatalf("len %d, want %d", ex.len(), len(keys))
			}
			seen := make(map[int]bool)
			for i, k := range keys {
				e := ex.find(k)
				if e < 0 || ex.at(e).hash != uint64(i) {
					t.Fatalf("key %d (%x/%x): found %d", i, k.key, k.check, e)
				}
				if seen[e] {
					t.Fatalf("key %d found at index %d, a second time", i, e)
				}
				seen[e] = true
			}
			if e := ex.find(keysOf("NOT-STORED")); e >= 0 {
				t.Fatalf("an unknown SKU found at %d", e)
			}
			ex.at(ex.find(keys[5])).first = 9
			if m := ex.missing(); len(m) != len(keys)-1 {
				t.Fatalf("%d missing, want %d", len(m), len(keys)-1)
			} else if _, ok := m[keys[5]]; ok {
				t.Fatal("a product the feed named is missing")
			}
		})
	}
}

// TestProducerOrderedChunks: SKUs in increasing order go to the keys'
// in-order list a chunk at a time (sequence compares only where a chunk
// begins), and a repeat is still noticed where it sits: inside a chunk,
// on the boundary of two, or when a chunk starts over below the last SKU.
func TestProducerOrderedChunks(t *testing.T) {
	sku := func(i int) string { return fmt.Sprintf("S%05d", i) }
	feedOf := func(skus []string) []byte {
		var b bytes.Buffer
		b.WriteString("sku,name,price,currency\n")
		for i, s := range skus {
			if i == 300 {
				b.WriteString(",no sku,1.00,EUR\n") // a reject amid the run
			}
			fmt.Fprintf(&b, "%s,n,1.00,EUR\n", s)
		}
		return b.Bytes()
	}
	sorted := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = sku(i)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		skus []string
		want []string
	}{
		{"in order", sorted(3 * chunkSize), nil},
		{"repeat inside a chunk", slices.Insert(sorted(3*chunkSize), 400, sku(399)), []string{sku(399)}},
		// The second chunk's first record repeats the first chunk's last
		// SKU.
		{"repeat across chunks", slices.Insert(sorted(3*chunkSize), chunkSize, sku(chunkSize-1)), []string{sku(chunkSize - 1)}},
		{"starts over", append(sorted(2*chunkSize), sorted(3)...), []string{sku(0), sku(1), sku(2)}},
		{"a later chunk lower, no repeat", append(sorted(2 * chunkSize)[chunkSize:], sorted(chunkSize)...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startCSV(t, feedOf(tc.skus), producerOptions{parts: 2, load: true})
			rows := 0
			for c := range p.out {
				rows += len(c)
			}
			if rows != len(tc.skus)+1 {
				t.Fatalf("%d rows out, want %d", rows, len(tc.skus)+1)
			}
			if p.dups.Load() != (tc.want != nil) || !slices.Equal(p.dupSKUs, tc.want) {
				t.Fatalf("duplicates %v %q, want %q", p.dups.Load(), p.dupSKUs, tc.want)
			}
		})
	}
}

// TestIncreasing: a chunk's order looks at its valid items not stored
// alone (a reject or a stored product with a higher SKU before them
// changes nothing, and is not the first), and takes equal SKUs for out of
// order.
func TestIncreasing(t *testing.T) {
	res := result{
		items: []item{{valid: true, sku: "Z"}, {sku: "Y"}, {valid: true, sku: "B"}, {valid: true, sku: "X"}, {valid: true, sku: "C"}, {valid: true, sku: "D"}},
		found: []int{7, -1, -1, 3, -1, -1},
	}
	if ok, first := increasing(res); !ok || first != "B" {
		t.Fatalf("increasing = %v %q, want true \"B\"", ok, first)
	}
	res.items[5].sku = "C"
	if ok, _ := increasing(res); ok {
		t.Fatal("a repeated SKU taken for increasing")
	}
	if ok, _ := increasing(result{}); !ok {
		t.Fatal("an empty chunk taken for out of order")
	}
}

// TestKeptCopies: a reject's excerpt is its own, not a view of the
// record's text, which it would keep alive until its batch is written.
func TestKeptCopies(t *testing.T) {
	row := strings.Repeat("x", 1<<20)
	k := kept(row, maxRejectRaw)
	if len(k) != maxRejectRaw || unsafe.StringData(k) == unsafe.StringData(row) {
		t.Fatalf("kept: %d bytes, sharing the row's memory: %v", len(k), unsafe.StringData(k) == unsafe.StringData(row))
	}
}
