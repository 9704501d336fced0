package feed

import (
	"fmt"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		file string
		path string
		want want
	}{
		{
			name: "good",
			file: "good.json",
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "A-1", "name", "Widget", "price", "10.50", "available", "true",
					"discontinued", "false", "images", "a.jpg", "images", "b.jpg", "stock", "0")},
				{Row: 2, Fields: fs("sku", "A-2", "name", "Gadget \"XL\" é", "price", "1999.99",
					"barcode", "4600000000017", "big", "12345678901234567890.123456789e-3")},
			}},
		},
		{
			name: "nested under a record path",
			file: "nested.json",
			path: "products",
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "N-1", "price.amount", "12.00", "price.currency", "EUR",
					"variants.sku", "N-1-S", "variants.size", "S", "variants.sku", "N-1-M", "variants.size", "M",
					"matrix", "1", "matrix", "2", "matrix", "3")},
				{Row: 2, Fields: fs("sku", "N-2", "attrs.color.name", "red", "attrs.color.hex", "#f00")},
			}},
		},
		{
			name: "dotted record path to a mixed array",
			file: "nested.json",
			path: "meta.tags",
			want: want{
				records:  []Record{{Row: 2, Fields: fs("y", "1", "y", "2")}},
				rejected: []int64{1},
			},
		},
		{name: "record path not found", file: "nested.json", path: "items", want: want{err: ErrMalformed}},
		{name: "record path to an object", file: "nested.json", path: "meta", want: want{err: ErrMalformed}},
		{name: "object without record path", file: "nested.json", want: want{err: ErrMalformed}},
		{name: "not an array", file: "not_array.json", want: want{err: ErrMalformed}},
		{
			name: "non-objects are rejected",
			file: "mixed.json",
			want: want{
				records:  []Record{{Row: 1, Fields: fs("a", "1")}, {Row: 7, Fields: fs("b", "2")}},
				rejected: []int64{2, 3, 4, 5, 6},
			},
		},
		{
			name: "truncated inside a record",
			file: "truncated.json",
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrMalformed},
		},
		{
			name: "truncated after a record",
			file: "truncated_after.json",
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrMalformed},
		},
		{
			name: "truncated after the array",
			file: "truncated_object.json",
			path: "products",
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrMalformed},
		},
		{
			name: "invalid syntax",
			file: "invalid.json",
			want: want{records: []Record{{Row: 1, Fields: fs("a", "1")}}, err: ErrMalformed},
		},
		{
			name: "data after the array",
			file: "trailing.json",
			want: want{records: []Record{{Row: 1, Fields: fs("a", "1")}}, err: ErrMalformed},
		},
		{name: "empty array", file: "empty_array.json", want: want{}},
		{name: "empty document", file: "empty.csv", want: want{err: ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, run(t, readFile(t, tt.file), Options{Format: JSON, RecordPath: tt.path}), tt.want)
		})
	}
}

func TestJSONErrorSaysWhere(t *testing.T) {
	got := run(t, readFile(t, "truncated.json"), Options{Format: JSON})
	if msg := got.err.Error(); !strings.Contains(msg, "feed: json: record 2: truncated feed:") {
		t.Errorf("error %q does not name the format and record", msg)
	}
}

func TestJSONRaw(t *testing.T) {
	got := run(t, readFile(t, "good.json"), Options{Format: JSON})
	const want = `{"sku":"A-1","name":"Widget","price":10.50,"available":true,"discontinued":false,"note":null,"images":["a.jpg","b.jpg"],"stock":0,"blank":""}`
	if raw := got.records[0].Raw; raw != want {
		t.Errorf("Raw = %q, want %q", raw, want)
	}
}

func TestJSONRecordTooLarge(t *testing.T) {
	data := `[{"a":"` + strings.Repeat("x", 4096) + `"},{"b":1}]`
	got := run(t, []byte(data), Options{Format: JSON, MaxRecordBytes: 1024})
	check(t, got, want{records: []Record{{Row: 2, Fields: fs("b", "1")}}, rejected: []int64{1}})
	wantRejected(t, got, 1, ErrTooLarge, "json: record is 4104 bytes, over the limit of 1024 (Options.MaxRecordBytes)")
}

func TestJSONL(t *testing.T) {
	tests := []struct {
		name string
		file string
		want want
	}{
		{
			name: "good",
			file: "good.jsonl",
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "A-1", "price", "10.50", "tags", "x", "tags", "y")},
				{Row: 2, Fields: fs("sku", "A-2", "dims.w", "1", "dims.h", "2")},
				{Row: 3, Fields: fs("sku", "A-3")},
			}},
		},
		{
			name: "bad lines are rejected",
			file: "bad_line.jsonl",
			want: want{
				records:  []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 4, Fields: fs("sku", "A-4")}},
				rejected: []int64{2, 3},
			},
		},
		{name: "empty", file: "empty.csv", want: want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, run(t, readFile(t, tt.file), Options{Format: JSONL}), tt.want)
		})
	}
}

func TestJSONLLongLine(t *testing.T) {
	data := `{"a":1}` + "\n" + `{"b":"` + strings.Repeat("x", 200_000) + `"}` + "\n" + `{"c":3}` + "\n"
	got := run(t, []byte(data), Options{Format: JSONL, MaxRecordBytes: 100_000})
	check(t, got, want{
		records:  []Record{{Row: 1, Fields: fs("a", "1")}, {Row: 3, Fields: fs("c", "3")}},
		rejected: []int64{2},
	})
	// Below the bound, a line longer than the read buffer is fine.
	got = run(t, []byte(data), Options{Format: JSONL, MaxFieldBytes: 300_000})
	if len(got.records) != 3 || len(got.records[1].Get("b")) != 200_000 {
		t.Fatalf("long line not read whole: %d records", len(got.records))
	}
}

// TestJSONLFinishConcurrently: JSONL lines validated and flattened on
// three goroutines while NextRaw reads on are the records Next reads,
// whatever the lines hold (nesting, invalid JSON, a line that is not an
// object). With -race, it also checks that Finishers share no caches.
func TestJSONLFinishConcurrently(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "{\"sku\":\"S%d\",\"price\":{\"amount\":%d.5,\"currency\":\"EUR\"},\"tags\":[\"a\",\"b\"]}\n", i, i)
		case 1:
			fmt.Fprintf(&b, "{\"sku\":\"S%d\",\"name\":\"broken\n", i)
		case 2:
			fmt.Fprintf(&b, "[\"S%d\"]\n\n", i)
		default:
			fmt.Fprintf(&b, "  {\"sku\": \"S%d\", \"name\": \"plain \\u00e9 %d\", \"attrs\": {\"colour\": \"red\"}}\n", i, i)
		}
	}
	finishConcurrently(t, b.String(), Options{Format: JSONL})
}

// TestJSONFinishConcurrently: a JSON array's elements flattened on three
// goroutines while NextRaw walks on are the records Next reads, pretty-
// printed or not, objects or not.
func TestJSONFinishConcurrently(t *testing.T) {
	var b strings.Builder
	b.WriteString("{\"products\": [\n")
	for i := range 5000 {
		if i > 0 {
			b.WriteString(",\n")
		}
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "{\"sku\":\"S%d\",\"price\":{\"amount\":%d.5,\"currency\":\"EUR\"},\"tags\":[\"a\",\"b\"]}", i, i)
		case 1:
			fmt.Fprintf(&b, "  {\n    \"sku\": \"S%d\",\n    \"name\": \"pretty \\u00e9\"\n  }", i)
		case 2:
			fmt.Fprintf(&b, "[\"S%d\"]", i)
		default:
			fmt.Fprintf(&b, "{\"sku\":\"S%d\",\"n\":-0.25e+2,\"ok\":true,\"gone\":null}", i)
		}
	}
	b.WriteString("\n]}\n")
	finishConcurrently(t, b.String(), Options{Format: JSON, RecordPath: "products"})
}
