package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"contextworker/internal/dev/feedgen"
)

func TestXML(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		record string
		want   want
	}{
		{
			name:   "good",
			file:   "good.xml",
			record: "item",
			want: want{records: []Record{
				{Row: 1, Fields: fs("@id", "1", "@type", "simple", "title", "Widget & Co",
					"price@currency", "USD", "price", "10.50", "image", "a.jpg", "image", "b.jpg",
					"dims.w@unit", "cm", "dims.w", "10", "dims.h", "20", "note", "<b>bold</b>", "desc", "Size\u00a0M")},
				{Row: 2, Fields: fs("@id", "2", "#text", "Plain text item")},
			}},
		},
		{
			name:   "prefixed record element",
			file:   "good.xml",
			record: "x:meta",
			want:   want{records: []Record{{Row: 1, Fields: fs("generated", "2024-01-01")}}},
		},
		{
			name:   "no record elements",
			file:   "good.xml",
			record: "offer",
			want:   want{},
		},
		{
			name:   "record elements at another depth",
			file:   "good.xml",
			record: "meta",
			want:   want{records: []Record{{Row: 1, Fields: fs("generated", "2024-01-01")}}},
		},
		{
			name:   "truncated",
			file:   "truncated.xml",
			record: "item",
			want:   want{records: []Record{{Row: 1, Fields: fs("@id", "1", "name", "One")}}, err: ErrMalformed},
		},
		{
			name:   "mismatched tags",
			file:   "mismatched.xml",
			record: "item",
			want:   want{records: []Record{{Row: 1, Fields: fs("@id", "1", "name", "One")}}, err: ErrMalformed},
		},
		{name: "empty document", file: "empty.csv", record: "item", want: want{err: ErrMalformed}},
		{name: "not XML", file: "good.csv", record: "item", want: want{err: ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, run(t, readFile(t, tt.file), Options{Format: XML, RecordElement: tt.record}), tt.want)
		})
	}
}

func TestXMLRaw(t *testing.T) {
	// A record is quoted as the feed has it...
	got := run(t, readFile(t, "good.xml"), Options{Format: XML, RecordElement: "item"})
	want := "<item id=\"1\" type=\"simple\" xmlns:x=\"urn:x\">\n      <g:title>Widget &amp; Co</g:title>"
	if raw := got.records[0].Raw; !strings.HasPrefix(raw, want) {
		t.Errorf("Raw = %q, want it to start with %q", raw, want)
	}
	// ...decoded, when the feed is not in UTF-8...
	doc, err := charmap.Windows1251.NewEncoder().Bytes([]byte(`<?xml version="1.0" encoding="windows-1251"?>` +
		`<items><item id="1" type="simple"><g:title>Widget &amp; Co — №1</g:title><price currency="USD">10.50</price></item></items>`))
	if err != nil {
		t.Fatal(err)
	}
	got = run(t, doc, Options{Format: XML, RecordElement: "item"})
	want = `<item id="1" type="simple"><g:title>Widget &amp; Co — №1</g:title><price currency="USD">10.50</price></item>`
	if raw := got.records[0].Raw; raw != want {
		t.Errorf("Raw = %q, want %q", raw, want)
	}
	// ...unless encoding/xml reads it alone (it holds a processing
	// instruction): then its fields rebuild it.
	got = run(t, []byte(`<items><item id="1" type="simple"><?pi x?><g:title>Widget &amp; Co</g:title><price currency="USD">10.50</price></item></items>`),
		Options{Format: XML, RecordElement: "item"})
	want = `<item id="1" type="simple"><title>Widget & Co</title><price@currency>USD</price@currency><price>10.50</price>`
	if raw := got.records[0].Raw; raw != want {
		t.Errorf("Raw = %q, want %q", raw, want)
	}
}

func TestXMLErrorSaysWhere(t *testing.T) {
	got := run(t, readFile(t, "truncated.xml"), Options{Format: XML, RecordElement: "item"})
	if msg := got.err.Error(); !strings.Contains(msg, "feed: xml: record 2: truncated feed: line 5:") {
		t.Errorf("error %q does not name the format, record and line", msg)
	}
	if !errors.Is(got.err, ErrTruncated) {
		t.Errorf("error %v does not wrap ErrTruncated", got.err)
	}
}

func TestXMLEncoding(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="windows-1251"?><items><item><name>Зонт</name></item></items>`
	data, err := charmap.Windows1251.NewEncoder().Bytes([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		encoding string
	}{
		{name: "from the declaration"},
		{name: "from the option", encoding: "cp1251"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, data, Options{Format: XML, RecordElement: "item", Encoding: tt.encoding})
			check(t, got, want{records: []Record{{Row: 1, Fields: fs("name", "Зонт")}}})
		})
	}
}

func TestXMLUnknownEncoding(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="x-martian"?><items><item><name>a</name></item></items>`
	check(t, run(t, []byte(doc), Options{Format: XML, RecordElement: "item"}), want{err: ErrMalformed})
}

func TestXMLRecordTooLarge(t *testing.T) {
	doc := `<items><item><name>a</name></item><item><name>` + strings.Repeat("x", 100_000)
	got := run(t, []byte(doc), Options{Format: XML, RecordElement: "item", MaxRecordBytes: 10_000})
	check(t, got, want{records: []Record{{Row: 1, Fields: fs("name", "a")}}, err: ErrMalformed})
}

func TestYML(t *testing.T) {
	tests := []struct {
		name string
		file string
		want want
	}{
		{
			name: "offers",
			file: "offers.yml",
			want: want{records: []Record{
				{Row: 1, Fields: fs(
					"@id", "101", "@available", "true", "@type", "vendor.model",
					"url", "https://example.com/p/101",
					"price", "24990.00",
					"oldprice", "29990",
					"currencyId", "RUR",
					"categoryId", "3",
					"picture", "https://example.com/img/101-1.jpg",
					"picture", "https://example.com/img/101-2.jpg",
					"picture", "https://example.com/img/101-3.jpg",
					"vendor", "Acme",
					"vendorCode", "AC-101",
					"model", "Phone X",
					"name", "Смартфон Acme Phone X 128GB",
					"description", "<p>Отличный смартфон.</p><ul><li>128 ГБ</li></ul>",
					"barcode", "4600000000017",
					"barcode", "4600000000024",
					"param:Цвет", "чёрный",
					"param:Вес", "180 г",
					"delivery-options.option@cost", "0",
					"delivery-options.option@days", "1-2",
					"categoryPath", "Электроника > Телефоны > Смартфоны",
				)},
				{Row: 2, Fields: fs(
					"@id", "102", "@available", "false",
					"name", "Кружка",
					"price", "350",
					"currencyId", "RUR",
					"categoryId", "10",
					"description", "Простая <b>кружка</b> & блюдце",
					"categoryPath", "Дом",
				)},
				{Row: 3, Fields: fs("@id", "103", "@available", "true", "name", "Unknown category", "price", "1", "categoryId", "999")},
			}},
		},
		{
			name: "offers before categories, loops and orphans",
			file: "broken_tree.yml",
			want: want{records: []Record{
				{Row: 1, Fields: fs("@id", "1", "name", "Early", "categoryId", "2")},
				{Row: 2, Fields: fs("@id", "2", "name", "Looped", "categoryId", "2", "categoryPath", "Loop A > Loop B")},
				{Row: 3, Fields: fs("@id", "3", "name", "Orphaned", "categoryId", "3", "categoryPath", "Orphan")},
			}},
		},
		{
			name: "truncated",
			file: "truncated.yml",
			want: want{err: ErrMalformed},
		},
		{name: "empty document", file: "empty.csv", want: want{err: ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, run(t, readFile(t, tt.file), Options{Format: YML}), tt.want)
		})
	}
}

func TestYMLWindows1251(t *testing.T) {
	doc := strings.Replace(string(readFile(t, "offers.yml")), `encoding="UTF-8"`, `encoding="windows-1251"`, 1)
	data, err := charmap.Windows1251.NewEncoder().Bytes([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, data, Options{Format: YML})
	if len(got.records) != 3 || got.err != nil {
		t.Fatalf("%d records, error %v; want 3 records", len(got.records), got.err)
	}
	if p := got.records[0].Get("categoryPath"); p != "Электроника > Телефоны > Смартфоны" {
		t.Errorf("categoryPath = %q", p)
	}
	if p := got.records[0].Get("param:Вес"); p != "180 г" {
		t.Errorf("param:Вес = %q", p)
	}
}

// TestXMLCutTextsStay holds xmlSplit to its promise that the text of a
// record it cut out shares the reader's buffer only while nothing writes
// there again: texts kept across many buffer fills, and records that
// straddle fills, read the same at the end as when they were returned.
func TestXMLCutTextsStay(t *testing.T) {
	var doc strings.Builder
	doc.WriteString("<?xml version=\"1.0\"?>\n<catalog><products>\n")
	want := make([]string, 0, 3000)
	for i := range cap(want) {
		// Records of varying lengths, so that their ends fall anywhere
		// in the 64 KiB buffer.
		rec := fmt.Sprintf(`<product id="%d"><sku>SKU-%d</sku><name>%s</name></product>`, i, i, strings.Repeat("x", i%257))
		want = append(want, rec)
		doc.WriteString(rec + "\n")
	}
	doc.WriteString("</products></catalog>\n")
	rawTextsStay(t, doc.String(), Options{Format: XML, RecordElement: "product"}, want)
}

// rawTextsStay reads every raw record of doc, keeping them all, and fails
// unless their texts read want at the end: a reader that shares memory
// between records' texts must never write it again.
func rawTextsStay(t *testing.T, doc string, opts Options, want []string) {
	t.Helper()
	r, err := NewReader(strings.NewReader(doc), opts)
	if err != nil {
		t.Fatal(err)
	}
	kept := allRaw(t, r.(Splitter))
	if len(kept) != len(want) {
		t.Fatalf("read %d records, want %d", len(kept), len(want))
	}
	for i, raw := range kept {
		if raw.text != want[i] {
			t.Fatalf("record %d reads %q at the end, want %q", i+1, excerpt(raw.text), excerpt(want[i]))
		}
	}
}

// allRaw reads every raw record of split, keeping them all.
func allRaw(tb testing.TB, split Splitter) []RawRecord {
	tb.Helper()
	var raws []RawRecord
	for {
		raw, err := split.NextRaw()
		if errors.Is(err, io.EOF) {
			return raws
		}
		if err != nil {
			tb.Fatal(err)
		}
		raws = append(raws, raw)
	}
}

// TestXMLSplitSmallReads: a source that gives a few KiB a Read (a
// decoder's, a network's) is read on into the split's buffer, not into a
// new 64 KiB array for each Read once records share it. Allocating one
// for each was sixteen times the feed, and slowed a windows-1251 YML
// re-harvest by half.
func TestXMLSplitSmallReads(t *testing.T) {
	var buf bytes.Buffer
	if _, err := feedgen.Write(&buf, feedgen.Options{N: 2000, Seed: 7, Format: "yml"}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := countRaw(t, &smallReads{r: bytes.NewReader(data), n: 4 << 10}, Options{Format: YML})
	runtime.ReadMemStats(&after)
	if n != 2000 {
		t.Fatalf("read %d records, want 2000", n)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4*uint64(len(data)) {
		t.Errorf("reading a %d-byte feed 4 KiB a Read allocated %d bytes, over 4 times the feed", len(data), got)
	}
}
