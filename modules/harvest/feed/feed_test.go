package feed

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fs builds fields from name, value pairs.
func fs(kv ...string) []Field {
	if len(kv)%2 != 0 {
		panic("fs: odd number of arguments")
	}
	fields := make([]Field, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		fields = append(fields, Field{Name: kv[i], Value: kv[i+1]})
	}
	return fields
}

// result is everything a Reader yielded.
type result struct {
	records  []Record
	rejected []*RecordError
	err      error // the final error; nil when the feed ended with io.EOF
}

// maxSteps stops a runaway Reader in tests.
const maxSteps = 1_000_000

// collect reads r to its end, checking the invariants every reader keeps:
// rows strictly increase, Raw is short valid UTF-8, values are non-empty
// valid UTF-8, and a final error repeats.
func collect(t testing.TB, r Reader) result {
	t.Helper()
	return collectN(t, r, maxSteps)
}

// collectN is collect failing after more than steps calls of Next.
func collectN(t testing.TB, r Reader, steps int) result {
	t.Helper()
	var res result
	var lastRow int64
	checkRaw := func(raw string) {
		t.Helper()
		if len(raw) > maxRaw || !utf8.ValidString(raw) {
			t.Fatalf("Raw %q: want valid UTF-8 of at most %d bytes", raw, maxRaw)
		}
	}
	checkRow := func(row int64) {
		t.Helper()
		if row <= lastRow {
			t.Fatalf("row %d after row %d: want strictly increasing rows", row, lastRow)
		}
		lastRow = row
	}
	for range steps {
		rec, err := r.Next()
		var rerr *RecordError
		switch {
		case err == nil:
			checkRow(rec.Row)
			checkRaw(rec.Raw)
			for _, f := range rec.Fields {
				if f.Value == "" || !utf8.ValidString(f.Value) || !utf8.ValidString(f.Name) {
					t.Fatalf("record %d: field %q=%q: want a non-empty valid UTF-8 value", rec.Row, f.Name, f.Value)
				}
			}
			res.records = append(res.records, rec)
		case errors.As(err, &rerr):
			checkRow(rerr.Row)
			checkRaw(rerr.Raw)
			res.rejected = append(res.rejected, rerr)
		default:
			if !errors.Is(err, io.EOF) {
				res.err = err
			}
			if _, again := r.Next(); !errors.Is(again, err) && again.Error() != err.Error() {
				t.Fatalf("Next after final error %v returned %v, want the same error", err, again)
			}
			return res
		}
	}
	t.Fatalf("reader did not end after %d steps", steps)
	return res
}

// want is the expected outcome of reading a feed.
type want struct {
	records  []Record // Row and Fields are compared, Raw is not
	rejected []int64  // rows of the records rejected with a *RecordError
	err      error    // nil: the feed ends with io.EOF; else errors.Is must hold
}

// check compares got with w.
func check(t *testing.T, got result, w want) {
	t.Helper()
	if w.err == nil && got.err != nil {
		t.Fatalf("final error %v, want io.EOF", got.err)
	}
	if w.err != nil && !errors.Is(got.err, w.err) {
		t.Fatalf("final error %v, want one wrapping %v", got.err, w.err)
	}
	gotRows := make([]int64, len(got.rejected))
	for i, e := range got.rejected {
		gotRows[i] = e.Row
	}
	if len(gotRows) != len(w.rejected) || (len(w.rejected) > 0 && !reflect.DeepEqual(gotRows, w.rejected)) {
		t.Errorf("rejected rows %v, want %v (errors: %v)", gotRows, w.rejected, got.rejected)
	}
	if len(got.records) != len(w.records) {
		t.Errorf("%d records, want %d", len(got.records), len(w.records))
	}
	for i := range min(len(got.records), len(w.records)) {
		g, e := got.records[i], w.records[i]
		if g.Row != e.Row || !reflect.DeepEqual(g.Fields, e.Fields) {
			t.Errorf("record %d:\n got row %d %q\nwant row %d %q", i, g.Row, g.Fields, e.Row, e.Fields)
		}
	}
}

// readFile reads a file under testdata.
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run reads data with opts and returns the outcome.
func run(t *testing.T, data []byte, opts Options) result {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return collect(t, r)
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Format
		wantErr bool
	}{
		{name: "csv", in: "csv", want: CSV},
		{name: "upper case", in: "JSON", want: JSON},
		{name: "mixed case", in: "JsonL", want: JSONL},
		{name: "ndjson alias", in: "ndjson", want: JSONL},
		{name: "extension", in: ".xlsx", want: XLSX},
		{name: "spaces", in: " xml ", want: XML},
		{name: "yml", in: "YML", want: YML},
		{name: "yaml is not yml", in: "yaml", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "unknown", in: "xls", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseFormat(%q) = %q, want an error", tt.in, got)
				}
				for _, f := range formats {
					if !strings.Contains(err.Error(), string(f)) {
						t.Errorf("error %q does not list valid format %q", err, f)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFormat(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRecordGetAll(t *testing.T) {
	r := Record{Fields: fs("sku", "A", "image", "1.jpg", "image", "2.jpg")}
	tests := []struct {
		name    string
		field   string
		wantGet string
		wantAll []string
	}{
		{name: "single", field: "sku", wantGet: "A", wantAll: []string{"A"}},
		{name: "repeated", field: "image", wantGet: "1.jpg", wantAll: []string{"1.jpg", "2.jpg"}},
		{name: "missing", field: "price", wantGet: "", wantAll: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Get(tt.field); got != tt.wantGet {
				t.Errorf("Get(%q) = %q, want %q", tt.field, got, tt.wantGet)
			}
			if got := r.All(tt.field); !reflect.DeepEqual(got, tt.wantAll) {
				t.Errorf("All(%q) = %q, want %q", tt.field, got, tt.wantAll)
			}
		})
	}
}

func TestRecordError(t *testing.T) {
	cause := errors.New("csv: line 3: 2 fields, the header has 3")
	err := error(&RecordError{Row: 2, Raw: "A-2,Gadget", Err: cause})
	if !errors.Is(err, cause) {
		t.Error("errors.Is(RecordError, cause) = false, want true")
	}
	if got, want := err.Error(), "feed: record 2: csv: line 3: 2 fields, the header has 3"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNewReaderOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "no format", opts: Options{}},
		{name: "unknown format", opts: Options{Format: "toml"}},
		{name: "xml without record element", opts: Options{Format: XML}},
		{name: "quote as delimiter", opts: Options{Format: CSV, Delimiter: '"'}},
		{name: "newline as delimiter", opts: Options{Format: CSV, Delimiter: '\n'}},
		{name: "unknown encoding", opts: Options{Format: CSV, Encoding: "klingon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader("a\n1\n"), tt.opts)
			if err == nil {
				_ = r.Close()
				t.Fatal("NewReader succeeded, want an error")
			}
			if r != nil {
				t.Error("NewReader returned a Reader along with its error")
			}
			if !strings.HasPrefix(err.Error(), "feed: ") {
				t.Errorf("error %q lacks the feed: prefix", err)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("я", 200) // 400 bytes
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "short", in: "abc", want: "abc"},
		{name: "cut at rune boundary", in: long, want: strings.Repeat("я", 128)},
		{name: "invalid bytes replaced", in: "a\xffb", want: "a\uFFFDb"},
		{name: "odd cut", in: "x" + long, want: "x" + strings.Repeat("я", 127)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := excerpt(tt.in); got != tt.want {
				t.Errorf("excerpt = %q (%d bytes), want %q", got, len(got), tt.want)
			}
		})
	}
}

func TestNextAfterClose(t *testing.T) {
	r, err := NewReader(strings.NewReader("a\n1\n2\n"), Options{Format: CSV})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil {
		t.Fatal("Next after Close succeeded, want an error")
	}
}

func TestErrTruncatedIsMalformed(t *testing.T) {
	err := truncated("xml", "record 3", "the root element <catalog> is never closed")
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrMalformed) {
		t.Errorf("errors.Is(%v, ErrTruncated/ErrMalformed) = %v/%v, want both true", err,
			errors.Is(err, ErrTruncated), errors.Is(err, ErrMalformed))
	}
	if errors.Is(malformed("xml", "start", "bad"), ErrTruncated) {
		t.Error("a malformed error matches ErrTruncated, want only truncations to")
	}
}

func TestHasEndMarker(t *testing.T) {
	want := map[Format]bool{CSV: false, JSONL: false, JSON: true, XML: true, YML: true, XLSX: true}
	for _, f := range formats {
		if got := f.HasEndMarker(); got != want[f] {
			t.Errorf("%s.HasEndMarker() = %v, want %v", f, got, want[f])
		}
	}
}

func TestNewReaderBoundOptions(t *testing.T) {
	for _, opts := range []Options{
		{Format: CSV, MaxFieldBytes: -1},
		{Format: CSV, MaxRecordBytes: -1},
		{Format: CSV, MaxDepth: -1},
	} {
		if r, err := NewReader(strings.NewReader("a\n1\n"), opts); err == nil {
			_ = r.Close()
			t.Errorf("NewReader(%+v) succeeded, want an error", opts)
		}
	}
}
