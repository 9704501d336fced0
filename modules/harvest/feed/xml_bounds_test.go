package feed

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// nested returns n levels of <a> around text.
func nested(n int, text string) string {
	return strings.Repeat("<a>", n) + text + strings.Repeat("</a>", n)
}

func TestXMLDepth(t *testing.T) {
	deep := nested(30_000, "x") // 210 KB, like the feed that cost 980 MB
	tests := []struct {
		name  string
		doc   string
		path  string
		limit uint64 // bytes the read may allocate
		want  want
	}{
		{
			name:  "a record nested 30k levels is rejected and reading goes on",
			doc:   `<items><item><sku>A-1</sku></item><item><sku>A-2</sku>` + deep + `</item><item><sku>A-3</sku></item></items>`,
			limit: 32 << 20,
			want: want{
				records:  []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}},
				rejected: []int64{2},
			},
		},
		{
			// The reject must read to the record's end, not to its
			// child's: the record's end tag, left over, once closed the
			// element around records, and the path then matched no more.
			name:  "a record too deep is rejected and the next one at the path is read",
			doc:   `<items><item><sku>A-1</sku></item><item><sku>A-2</sku>` + nested(40, "x") + `</item><item><sku>A-3</sku></item></items>`,
			path:  "items.item",
			limit: 1 << 20,
			want: want{
				records:  []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}},
				rejected: []int64{2},
			},
		},
		{
			name:  "a record at the depth limit is read",
			doc:   `<items><item>` + nested(DefaultMaxDepth-1, "<b>x</b>") + `</item></items>`,
			limit: 1 << 20,
			want:  want{records: []Record{{Row: 1, Fields: fs(strings.Repeat("a.", DefaultMaxDepth-1)+"b", "x")}}},
		},
		{
			name:  "a document nested 1M levels outside records fails at once",
			doc:   `<items><item><sku>A-1</sku></item>` + nested(1_000_000, "") + `</items>`,
			limit: 1 << 20,
			want:  want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrMalformed},
		},
		{
			name:  "a record nested 1M levels fails as malformed",
			doc:   `<items><item><sku>A-1</sku></item><item>` + nested(1_000_000, "") + `</item></items>`,
			limit: 64 << 20,
			want:  want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrMalformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readBounded(t, strings.NewReader(tt.doc), Options{Format: XML, RecordElement: "item", RecordPath: tt.path}, false, tt.limit)
			check(t, got, tt.want)
			if len(tt.want.rejected) > 0 {
				wantRejected(t, got, 2, ErrTooDeep, "nested deeper than 32 elements")
			}
		})
	}
}

func TestXMLHugeField(t *testing.T) {
	const size = 32 << 20
	for _, tt := range []struct {
		name   string
		format Format
		parts  []any
		field  string
	}{
		{
			name:   "text",
			format: XML,
			parts:  []any{`<items><item><sku>A-1</sku></item><item><sku>A-2</sku><description>`, &repeat{'x', size}, `</description></item><item><sku>A-3</sku></item></items>`},
			field:  `field "description"`,
		},
		{
			name:   "attribute",
			format: XML,
			parts:  []any{`<items><item><sku>A-1</sku></item><item><sku>A-2</sku><img src="`, &repeat{'x', size}, `"/></item><item><sku>A-3</sku></item></items>`},
			field:  `an attribute of field "img"`,
		},
		{
			name:   "cdata",
			format: XML,
			parts:  []any{`<items><item><sku>A-1</sku></item><item><sku>A-2</sku><d><![CDATA[`, &repeat{']', size}, `]]></d></item><item><sku>A-3</sku></item></items>`},
			field:  `field "d"`,
		},
		{
			name:   "yml description",
			format: YML,
			parts:  []any{`<yml_catalog><shop><offers><offer><sku>A-1</sku></offer><offer><sku>A-2</sku><description><p>`, &repeat{'x', size}, `</p></description></offer><offer><sku>A-3</sku></offer></offers></shop></yml_catalog>`},
			field:  `field "description"`,
		},
	} {
		for _, gz := range []bool{false, true} {
			name := tt.name
			r := feedOf(tt.parts...)
			if gz {
				name += " gzipped"
				r = bytes.NewReader(gzipped(t, r))
			}
			t.Run(name, func(t *testing.T) {
				got := readBounded(t, r, Options{Format: tt.format, RecordElement: "item"}, gz, 8<<20)
				check(t, got, want{
					records:  []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}},
					rejected: []int64{2},
				})
				wantRejected(t, got, 2, ErrTooLarge, tt.field, "over the limit of 65536 (Options.MaxFieldBytes)")
			})
		}
	}
}

func TestXMLHugeRecord(t *testing.T) {
	// 64 fields of 60 KiB: each under the field bound, 3.75 MiB together.
	field := "<f>" + strings.Repeat("y", 60<<10) + "</f>"
	doc := `<items><item><sku>A-1</sku></item><item>` + strings.Repeat(field, 64) + `</item><item><sku>A-3</sku></item></items>`
	got := readBounded(t, strings.NewReader(doc), Options{Format: XML, RecordElement: "item"}, false, 16<<20)
	check(t, got, want{
		records:  []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}},
		rejected: []int64{2},
	})
	wantRejected(t, got, 2, ErrTooLarge, "over the limit of 1048576 (Options.MaxRecordBytes)")
}

func TestXMLInvalidUTF8(t *testing.T) {
	latin1 := "<items><item><name>\xfcn\xefc\xf6d\xe9</name></item><item><name>ok</name></item></items>"
	tests := []struct {
		name string
		doc  string
		opts Options
		want want
	}{
		{
			name: "undeclared: the record is rejected",
			doc:  latin1,
			want: want{records: []Record{{Row: 2, Fields: fs("name", "ok")}}, rejected: []int64{1}},
		},
		{
			name: "declared by the option",
			doc:  latin1,
			opts: Options{Encoding: "windows-1252"},
			want: want{records: []Record{{Row: 1, Fields: fs("name", "ünïcödé")}, {Row: 2, Fields: fs("name", "ok")}}},
		},
		{
			name: "declared in the XML declaration",
			doc:  `<?xml version="1.0" encoding="ISO-8859-1"?>` + latin1,
			want: want{records: []Record{{Row: 1, Fields: fs("name", "ünïcödé")}, {Row: 2, Fields: fs("name", "ok")}}},
		},
		{
			name: "in an element name",
			doc:  "<items><item><n\xe9>x</n\xe9></item><item><n>ok</n></item></items>",
			want: want{records: []Record{{Row: 2, Fields: fs("n", "ok")}}, rejected: []int64{1}},
		},
		{
			name: "in an attribute",
			doc:  "<items><item id=\"caf\xe9\"/><item id=\"ok\"/></items>",
			want: want{records: []Record{{Row: 2, Fields: fs("@id", "ok")}}, rejected: []int64{1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format, tt.opts.RecordElement = XML, "item"
			got := run(t, []byte(tt.doc), tt.opts)
			check(t, got, tt.want)
			if len(tt.want.rejected) > 0 {
				wantRejected(t, got, 1, ErrInvalidUTF8, "invalid UTF-8 at byte", "; set the supplier's encoding")
			}
		})
	}
	got := run(t, []byte(latin1), Options{Format: XML, RecordElement: "item"})
	if msg := got.rejected[0].Error(); !strings.Contains(msg, `field "name": invalid UTF-8 at byte 0;`) {
		t.Errorf("reason %q does not name the field and the byte", msg)
	}
	got = run(t, []byte("<items><item><n\xe9>x</n\xe9></item></items>"), Options{Format: XML, RecordElement: "item"})
	if msg := got.rejected[0].Error(); !strings.Contains(msg, "(at byte N of the feed): invalid UTF-8 at byte 15;") {
		t.Errorf("reason %q does not say where in the feed", msg)
	}
}

func TestXMLTruncated(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want want
	}{
		{name: "root never closed", doc: "<items><item><sku>A-1</sku></item>\n", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "cut in a record", doc: "<items><item><sku>A-1</sku></item><item><sku>A", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "cut in a tag", doc: "<items><item><sku>A-1</sku></item></ite", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "complete", doc: "<items><item><sku>A-1</sku></item></items>\n", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, []byte(tt.doc), Options{Format: XML, RecordElement: "item"})
			check(t, got, tt.want)
			if tt.want.err == nil && errors.Is(got.err, ErrTruncated) {
				t.Errorf("complete feed: %v", got.err)
			}
		})
	}
}

func TestYMLCategoryInvalidUTF8(t *testing.T) {
	doc := "<yml_catalog><shop><categories><category id=\"1\">T\xe9l\xe9phones</category></categories>" +
		"<offers><offer id=\"1\"><name>a</name><categoryId>1</categoryId></offer></offers></shop></yml_catalog>"
	got := run(t, []byte(doc), Options{Format: YML})
	check(t, got, want{err: ErrMalformed})
	if !strings.Contains(got.err.Error(), `category "1"`) || !strings.Contains(got.err.Error(), "invalid UTF-8 at byte 49; set the supplier's encoding") {
		t.Errorf("error %q does not name the category and the byte", got.err)
	}
	got = run(t, []byte(doc), Options{Format: YML, Encoding: "windows-1252"})
	check(t, got, want{records: []Record{{Row: 1, Fields: fs("@id", "1", "name", "a", "categoryId", "1", "categoryPath", "Téléphones")}}})
}

// TestYMLPathCacheBounded: the category paths of a hostile tree (a chain
// of maxCategoryDepth categories with long names) are each made right,
// and those kept for later offers stay within maxPathCacheBytes.
func TestYMLPathCacheBounded(t *testing.T) {
	name := strings.Repeat("n", 32<<10)
	cats := map[string]ymlCategory{}
	for i := 1; i <= maxCategoryDepth; i++ {
		cats[strconv.Itoa(i)] = ymlCategory{name: name, parent: strconv.Itoa(i - 1)}
	}
	var paths pathCache
	for range 2 { // the second time, from the cache where it holds them
		for i := 1; i <= maxCategoryDepth; i++ {
			p := pathOf(strconv.Itoa(i), cats, &paths)
			if want := i*len(name) + (i-1)*len(" > "); len(p) != want {
				t.Fatalf("path of %d is %d bytes, want %d", i, len(p), want)
			}
		}
	}
	if paths.bytes > maxPathCacheBytes || len(paths.m) == 0 || len(paths.m) == maxCategoryDepth {
		t.Fatalf("the cache holds %d paths, %d bytes: want some, not all, within %d", len(paths.m), paths.bytes, maxPathCacheBytes)
	}
}
