package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

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
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), opts)
		if err != nil {
			b.Fatal(err)
		}
		split := r.(Splitter)
		n := 0
		for ; ; n++ {
			if _, err := split.NextRaw(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		if n != benchRecords {
			b.Fatalf("read %d records, want %d", n, benchRecords)
		}
	}
}

// BenchmarkNextRawGenerated is the reading goroutine's share of feedgen's
// feeds (the bench's and the held-out catalogues' shape).
func BenchmarkNextRawGenerated(b *testing.B) {
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
			benchmarkNextRawOf(b, buf.Bytes(), f.opts)
		})
	}
}
