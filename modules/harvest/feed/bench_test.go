package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"contextworker/internal/dev/feedgen"
)

// benchRecords is the size of the generated feeds: large enough that
// per-feed setup does not matter, small enough to stay in memory.
const benchRecords = 100_000

// benchFeed generates a feed of n product records in the given format.
func benchFeed(format Format, n int) []byte {
	var b bytes.Buffer
	switch format {
	case CSV:
		b.WriteString("sku,name,price,currency,stock,brand,image,image,description\n")
		for i := range n {
			fmt.Fprintf(&b, "SKU-%d,Product %d,%d.99,EUR,%d,Acme,https://img.example.com/%d-1.jpg,https://img.example.com/%d-2.jpg,\"A fine product, number %d\"\n", i, i, i%1000, i%50, i, i, i)
		}
	case JSONL:
		for i := range n {
			fmt.Fprintf(&b, `{"sku":"SKU-%d","name":"Product %d","price":{"amount":%d.99,"currency":"EUR"},"stock":%d,"brand":"Acme","images":["https://img.example.com/%d-1.jpg","https://img.example.com/%d-2.jpg"],"description":"A fine product, number %d"}`+"\n", i, i, i%1000, i%50, i, i, i)
		}
	case JSON:
		b.WriteString("[\n")
		for i := range n {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, `{"sku":"SKU-%d","name":"Product %d","price":{"amount":%d.99,"currency":"EUR"},"stock":%d,"brand":"Acme","images":["https://img.example.com/%d-1.jpg","https://img.example.com/%d-2.jpg"],"description":"A fine product, number %d"}`, i, i, i%1000, i%50, i, i, i)
		}
		b.WriteString("\n]\n")
	case XML:
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<catalog><items>\n")
		for i := range n {
			fmt.Fprintf(&b, `<item id="%d"><sku>SKU-%d</sku><name>Product %d</name><price currency="EUR">%d.99</price><stock>%d</stock><brand>Acme</brand><image>https://img.example.com/%d-1.jpg</image><image>https://img.example.com/%d-2.jpg</image><description>A fine product, number %d</description></item>`+"\n", i, i, i, i%1000, i%50, i, i, i)
		}
		b.WriteString("</items></catalog>\n")
	case YML:
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<yml_catalog><shop><categories>\n")
		for c := range 100 {
			fmt.Fprintf(&b, `<category id="%d" parentId="%d">Category %d</category>`+"\n", c+1, c/10, c+1)
		}
		b.WriteString("</categories><offers>\n")
		for i := range n {
			fmt.Fprintf(&b, `<offer id="%d" available="true"><name>Product %d</name><vendor>Acme</vendor><vendorCode>SKU-%d</vendorCode><price>%d.99</price><currencyId>RUR</currencyId><categoryId>%d</categoryId><picture>https://img.example.com/%d-1.jpg</picture><picture>https://img.example.com/%d-2.jpg</picture><param name="Weight" unit="kg">%d</param><description><![CDATA[<p>A fine product, number %d</p>]]></description></offer>`+"\n", i, i, i, i%1000, i%100+1, i, i, i%50, i)
		}
		b.WriteString("</offers></shop></yml_catalog>\n")
	default:
		panic("benchFeed: unsupported format " + format)
	}
	return b.Bytes()
}

func benchmarkFormat(b *testing.B, opts Options) {
	data := benchFeed(opts.Format, benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var records int
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), opts)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			records++
		}
		_ = r.Close()
	}
	if records != benchRecords*b.N {
		b.Fatalf("read %d records, want %d", records, benchRecords*b.N)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkCSV(b *testing.B)   { benchmarkFormat(b, Options{Format: CSV}) }
func BenchmarkJSONL(b *testing.B) { benchmarkFormat(b, Options{Format: JSONL}) }
func BenchmarkJSON(b *testing.B)  { benchmarkFormat(b, Options{Format: JSON}) }
func BenchmarkXML(b *testing.B)   { benchmarkFormat(b, Options{Format: XML, RecordElement: "item"}) }
func BenchmarkYML(b *testing.B)   { benchmarkFormat(b, Options{Format: YML}) }

// BenchmarkXMLNextRaw and BenchmarkJSONNextRaw are the reading
// goroutine's share of a feed that is a Splitter: NextRaw without Finish.
func BenchmarkXMLNextRaw(b *testing.B) {
	benchmarkNextRaw(b, Options{Format: XML, RecordElement: "item"})
}

func BenchmarkJSONNextRaw(b *testing.B) { benchmarkNextRaw(b, Options{Format: JSON}) }

func benchmarkNextRaw(b *testing.B, opts Options) {
	benchmarkNextRawOf(b, benchFeed(opts.Format, benchRecords), opts)
}

func benchmarkNextRawOf(b *testing.B, data []byte, opts Options) {
	benchmarkNextRawFrom(b, data, opts, func(r io.Reader) io.Reader { return r })
}

// benchmarkNextRawFrom is benchmarkNextRawOf with the feed read through
// wrap.
func benchmarkNextRawFrom(b *testing.B, data []byte, opts Options, wrap func(io.Reader) io.Reader) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if n := countRaw(b, wrap(bytes.NewReader(data)), opts); n != benchRecords {
			b.Fatalf("read %d records, want %d", n, benchRecords)
		}
	}
}

// BenchmarkNextRawGenerated is the reading goroutine's share of feedgen's
// feeds (the bench's and the held-out catalogues' shape): as they are, a
// YML feed in windows-1251, and one read 4 KiB a call (as a decoder or a
// network may give it).
func BenchmarkNextRawGenerated(b *testing.B) {
	same := func(r io.Reader) io.Reader { return r }
	small := func(r io.Reader) io.Reader { return &smallReads{r: r, n: 4 << 10} }
	for _, f := range []struct {
		name, format string
		opts         Options
		cp1251       bool
		wrap         func(io.Reader) io.Reader
	}{
		{"xml", "xml", Options{Format: XML, RecordElement: "product"}, false, same},
		{"yml", "yml", Options{Format: YML}, false, same},
		{"yml-1251", "yml", Options{Format: YML}, true, same},
		{"yml-4k-reads", "yml", Options{Format: YML}, false, small},
		{"csv", "csv", Options{Format: CSV}, false, same},
		{"json", "json", Options{Format: JSON}, false, same},
	} {
		b.Run(f.name, func(b *testing.B) {
			var buf bytes.Buffer
			if _, err := feedgen.Write(&buf, feedgen.Options{N: benchRecords, Seed: 7, BadShare: 0.01, Format: f.format}); err != nil {
				b.Fatal(err)
			}
			data := buf.Bytes()
			if f.cp1251 {
				// What windows-1251 cannot hold becomes '?', as iconv's
				// //TRANSLIT makes the held-out feed.
				text := bytes.Replace(data, []byte(`encoding="UTF-8"`), []byte(`encoding="windows-1251"`), 1)
				data = make([]byte, 0, len(text))
				for _, r := range string(text) {
					c, ok := charmap.Windows1251.EncodeRune(r)
					if !ok {
						c = '?'
					}
					data = append(data, c)
				}
			}
			benchmarkNextRawFrom(b, data, f.opts, f.wrap)
		})
	}
}

// countRaw reads a feed by NextRaw to its end and counts its records.
func countRaw(tb testing.TB, feed io.Reader, opts Options) int {
	r, err := NewReader(feed, opts)
	if err != nil {
		tb.Fatal(err)
	}
	split := r.(Splitter)
	n := 0
	for ; ; n++ {
		if _, err := split.NextRaw(); errors.Is(err, io.EOF) {
			return n
		} else if err != nil {
			tb.Fatal(err)
		}
	}
}

// smallReads returns at most n bytes a Read.
type smallReads struct {
	r io.Reader
	n int
}

func (s *smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// BenchmarkFinishGenerated is the normalising goroutines' share of reading
// feedgen's feeds: Finish of every record NextRaw read (before the timer),
// with one Finisher, as each of those goroutines has.
func BenchmarkFinishGenerated(b *testing.B) {
	for _, f := range []struct {
		format string
		opts   Options
	}{
		{"xml", Options{Format: XML, RecordElement: "product"}},
		{"yml", Options{Format: YML}},
		{"csv", Options{Format: CSV}},
		{"json", Options{Format: JSON}},
	} {
		b.Run(f.format, func(b *testing.B) {
			var buf bytes.Buffer
			if _, err := feedgen.Write(&buf, feedgen.Options{N: benchRecords, Seed: 7, BadShare: 0.01, Format: f.format}); err != nil {
				b.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(buf.Bytes()), f.opts)
			if err != nil {
				b.Fatal(err)
			}
			split := r.(Splitter)
			raws := allRaw(b, split)
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			var fin Finisher
			for b.Loop() {
				for _, raw := range raws {
					if _, err := split.Finish(raw, &fin); err != nil {
						var re *RecordError
						if !errors.As(err, &re) {
							b.Fatal(err)
						}
					}
				}
			}
		})
	}
}
