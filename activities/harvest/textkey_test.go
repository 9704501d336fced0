package harvest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
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

// reharvest produces data again over the products of stored (the items
// of an earlier run, stored with the source keys of their tuples): the
// rows it writes, and how many records it finished.
func reharvest(t *testing.T, format feed.Format, data []byte, stored []item) ([]item, int64) {
	t.Helper()
	var c *countingKeyer
	items := produceAs(t, format, data, producerOptions{parts: 2, existing: existingOf(t, stored, true)}, counting(&c))
	var rows []item
	for _, it := range items {
		if it.err != nil {
			t.Fatal(it.err)
		}
		if it.tuple != nil {
			rows = append(rows, it)
		}
	}
	return rows, c.finished.Load()
}

// TestProducerFindsUnchangedByText: a re-harvest of a feed keyed by its
// records' texts (every format but XLSX) finds the unchanged ones without
// finishing them; a changed one is finished, written, and stored with its
// text's key, so the next re-harvest finds it unchanged the same way.
func TestProducerFindsUnchangedByText(t *testing.T) {
	for _, f := range []struct {
		format   feed.Format
		from, to string
	}{{feed.YML, "<price>", "<price>1"}, {feed.CSV, ",in_stock,", ",out_of_stock,"}, {feed.XML, "<price>", "<price>1"},
		{feed.JSON, `"in_stock"`, `"out_of_stock"`}, {feed.JSONL, `"in_stock"`, `"out_of_stock"`}} {
		t.Run(string(f.format), func(t *testing.T) {
			data := generated(t, feedgen.Options{N: 700, Seed: 3, Format: string(f.format)})
			first := produceAs(t, f.format, data, producerOptions{parts: 2, load: true}, nil)
			if n := len(slices.DeleteFunc(slices.Clone(first), func(it item) bool { return !it.valid })); n != 700 {
				t.Fatalf("%d valid records, want 700", n)
			}
			if rows, finished := reharvest(t, f.format, data, first); len(rows) != 0 || finished != 0 {
				t.Fatalf("unchanged re-harvest: %d rows written, %d records finished; want none", len(rows), finished)
			}
			// One record changes: it alone is finished (twice: for its
			// SKU, and again to normalise it) and written.
			changed := bytes.Replace(data, []byte(f.from), []byte(f.to), 1)
			rows, finished := reharvest(t, f.format, changed, first)
			if len(rows) != 1 || finished != 2 {
				t.Fatalf("after changing one record: %d rows written, %d records finished; want 1 and 2", len(rows), finished)
			}
			// Stored as written (its tuple's source key), it is found by
			// its text next time.
			stored := slices.DeleteFunc(slices.Clone(first), func(it item) bool { return !it.valid || it.row == rows[0].row })
			if rows, finished := reharvest(t, f.format, changed, append(stored, rows[0])); len(rows) != 0 || finished != 0 {
				t.Fatalf("after storing the change: %d rows written, %d records finished; want none", len(rows), finished)
			}
		})
	}
}

// TestProducerFindsUnchangedByOlderKeys: products stored with their
// fields' source keys (by a worker that did not key texts) are still
// found unchanged, by SKU and fields, without normalising them.
func TestProducerFindsUnchangedByOlderKeys(t *testing.T) {
	for _, format := range []feed.Format{feed.YML, feed.CSV} {
		t.Run(string(format), func(t *testing.T) {
			data := generated(t, feedgen.Options{N: 300, Seed: 4, Format: string(format)})
			older := func(r feed.Reader) feed.Reader { return splitOnly{r.(feed.Splitter)} }
			first := produceAs(t, format, data, producerOptions{parts: 2, load: true}, older)
			rows, finished := reharvest(t, format, data, first)
			if len(rows) != 0 || finished != 300 {
				t.Fatalf("%d rows written, %d records finished; want none, and each once (300)", len(rows), finished)
			}
		})
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
	first := produceAs(t, feed.YML, yml(offer("SKU-A", "1.00"), offer("SKU-B", "1.00")), producerOptions{parts: 2, load: true}, nil)
	ex := existingOf(t, first, true)
	var c *countingKeyer
	items := produceAs(t, feed.YML, yml(offer("SKU-A", "1.00"), offer("SKU-B", "1.00"), offer("SKU-A", "1.00"), offer("SKU-D", "1.00")),
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
