package harvest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"contextworker/internal/dev/feedgen"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
)

// countingKeyer is a feed that keys records by their text, counting the
// records it finishes.
type countingKeyer struct {
	feed.RawKeyer
	finished atomic.Int64
}

func (c *countingKeyer) Finish(raw feed.RawRecord, f *feed.Finisher) (feed.Record, error) {
	c.finished.Add(1)
	return c.RawKeyer.Finish(raw, f)
}

// splitOnly hides a feed's RawKeyer: a worker from before text keys.
type splitOnly struct{ feed.Splitter }

// produceYML runs a producer over YML data; wrap may replace its reader.
func produceYML(t *testing.T, data []byte, o producerOptions, wrap func(feed.Reader) feed.Reader) []item {
	t.Helper()
	return produceAs(t, feed.YML, data, o, wrap)
}

// produceAs runs a producer over data in format; wrap may replace its
// reader.
func produceAs(t *testing.T, format feed.Format, data []byte, o producerOptions, wrap func(feed.Reader) feed.Reader) []item {
	t.Helper()
	opts := feed.Options{Format: format}
	if format == feed.XML {
		opts.RecordElement = "product"
	}
	r, err := feed.Open(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		r = wrap(r)
	}
	p, err := startProducer(context.Background(), r, func() (*product.Normalizer, error) {
		return product.NewNormalizer(product.Options{Format: string(format)})
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	var out []item
	for c := range p.out {
		out = append(out, c...)
	}
	return out
}

func counting(c **countingKeyer) func(feed.Reader) feed.Reader {
	return func(r feed.Reader) feed.Reader {
		*c = &countingKeyer{RawKeyer: r.(feed.RawKeyer)}
		return *c
	}
}

func written(items []item) (n int) {
	for _, it := range items {
		if it.err != nil {
			panic(it.err)
		}
		if it.tuple != nil {
			n++
		}
	}
	return n
}

// TestProducerFindsUnchangedByText: a re-harvest of a feed keyed by its
// records' texts (YML, CSV, XML) finds the unchanged ones without finishing them;
// a changed one is finished, written, and stored with its text's key, so
// the next re-harvest finds it unchanged the same way.
func TestProducerFindsUnchangedByText(t *testing.T) {
	for _, f := range []struct {
		format   feed.Format
		from, to string
	}{{feed.YML, "<price>", "<price>1"}, {feed.CSV, ",in_stock,", ",out_of_stock,"}, {feed.XML, "<price>", "<price>1"}} {
		t.Run(string(f.format), func(t *testing.T) { findsUnchangedByText(t, f.format, f.from, f.to) })
	}
}

func findsUnchangedByText(t *testing.T, format feed.Format, from, to string) {
	data := generated(t, feedgen.Options{N: 700, Seed: 3, Format: string(format)})
	produceYML := func(t *testing.T, data []byte, o producerOptions, wrap func(feed.Reader) feed.Reader) []item {
		return produceAs(t, format, data, o, wrap)
	}
	first := produceYML(t, data, producerOptions{parts: 2, load: true}, nil)
	load := first[:0:0]
	for _, it := range first {
		if it.valid {
			load = append(load, it)
		}
	}
	if len(load) != 700 {
		t.Fatalf("%d valid records, want 700", len(load))
	}

	var c *countingKeyer
	again := produceYML(t, data, producerOptions{parts: 2, existing: existingOf(t, first, true)}, counting(&c))
	if n := written(again); n != 0 {
		t.Fatalf("%d rows written in an unchanged re-harvest", n)
	}
	if n := c.finished.Load(); n != 0 {
		t.Fatalf("%d records finished in an unchanged re-harvest, want none", n)
	}

	// One offer's price changes: it alone is finished (twice: for its
	// SKU, and again to normalise it) and written.
	changed := bytes.Replace(data, []byte(from), []byte(to), 1)
	ex := existingOf(t, first, true)
	again = produceYML(t, changed, producerOptions{parts: 2, existing: ex}, counting(&c))
	if n := written(again); n != 1 {
		t.Fatalf("%d rows written after changing one, want 1", n)
	}
	if n := c.finished.Load(); n != 2 {
		t.Fatalf("%d finishes after changing one record, want 2", n)
	}
	// Stored as written (the staging tuple's source key), it is found by
	// its text next time.
	var stored []item
	for _, it := range again {
		if it.tuple != nil {
			stored = append(stored, it)
		}
	}
	for _, it := range first {
		if it.valid && it.row != stored[0].row {
			stored = append(stored, it)
		}
	}
	again = produceYML(t, changed, producerOptions{parts: 2, existing: existingOf(t, stored, true)}, counting(&c))
	if n, f := written(again), c.finished.Load(); n != 0 || f != 0 {
		t.Fatalf("after storing the change: %d rows written, %d finished; want none", n, f)
	}
}

// TestProducerFindsUnchangedByOlderKeys: products stored with their
// fields' source keys (by a worker that did not key texts) are still
// found unchanged, by SKU and fields, without normalising them.
func TestProducerFindsUnchangedByOlderKeys(t *testing.T) {
	for _, format := range []feed.Format{feed.YML, feed.CSV} {
		t.Run(string(format), func(t *testing.T) { findsUnchangedByOlderKeys(t, format) })
	}
}

func findsUnchangedByOlderKeys(t *testing.T, format feed.Format) {
	data := generated(t, feedgen.Options{N: 300, Seed: 4, Format: string(format)})
	produceYML := func(t *testing.T, data []byte, o producerOptions, wrap func(feed.Reader) feed.Reader) []item {
		return produceAs(t, format, data, o, wrap)
	}
	older := func(r feed.Reader) feed.Reader { return splitOnly{r.(feed.Splitter)} }
	first := produceYML(t, data, producerOptions{parts: 2, load: true}, older)
	var c *countingKeyer
	again := produceYML(t, data, producerOptions{parts: 2, existing: existingOf(t, first, true)}, counting(&c))
	if n := written(again); n != 0 {
		t.Fatalf("%d rows written in an unchanged re-harvest", n)
	}
	if n := c.finished.Load(); n != 300 {
		t.Fatalf("%d records finished, want each once (300)", n)
	}
	for _, it := range again {
		if it.valid && it.hk != 0 {
			t.Fatalf("row %d normalised: its fields' key should have found it unchanged", it.row)
		}
	}
}

// TestProducerStagesRepeatedUnchangedByText: a feed that repeats an
// unchanged record stages both occurrences slim, with the SKU of a record
// that was not finished (sequence finishes it for that).
func TestProducerStagesRepeatedUnchangedByText(t *testing.T) {
	offer := func(id, price string) string {
		return `<offer id="` + id + `"><name>Name ` + id + `</name><price>` + price + `</price><currencyId>EUR</currencyId></offer>`
	}
	yml := func(offers ...string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><offers>` + strings.Join(offers, "\n") + `</offers></shop></yml_catalog>`)
	}
	first := produceYML(t, yml(offer("SKU-A", "1.00"), offer("SKU-B", "1.00")), producerOptions{parts: 2, load: true}, nil)
	ex := existingOf(t, first, true)
	var c *countingKeyer
	items := produceYML(t, yml(offer("SKU-A", "1.00"), offer("SKU-B", "1.00"), offer("SKU-A", "1.00"), offer("SKU-D", "1.00")),
		producerOptions{parts: 2, existing: ex}, counting(&c))
	var got []string
	for _, it := range items {
		switch {
		case it.err != nil:
			t.Fatal(it.err)
		case it.tuple == nil:
			got = append(got, fmt.Sprintf("%d:skip", it.row))
		case tupleUnchanged(it.tuple):
			got = append(got, fmt.Sprintf("%d:slim:%v:%v", it.row, it.retro, bytes.Contains(it.tuple, []byte("\x00\x00\x00\x05SKU-A"))))
		default:
			got = append(got, fmt.Sprintf("%d:full", it.row))
		}
	}
	if want := "[1:skip 2:skip 1:slim:true:true 3:slim:false:true 4:full]"; fmt.Sprint(got) != want {
		t.Fatalf("items %v, want %s", got, want)
	}
}
