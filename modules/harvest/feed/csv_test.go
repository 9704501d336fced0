package feed

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestCSV(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
		want want
	}{
		{
			name: "good",
			file: "good.csv",
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "A-1", "name", "Widget", "price", "10.50", "images", "a.jpg", "images", "b.jpg")},
				{Row: 2, Fields: fs("sku", "A-2", "name", "Gadget, large", "price", "1999.99", "images", "c.jpg")},
				{Row: 3, Fields: fs("sku", "A-3", "name", "Multi\nline \"quoted\"", "price", "0.10")},
				{Row: 4, Fields: fs("sku", "A-4", "name", "spaced")},
			}},
		},
		{
			name: "semicolon and CRLF",
			file: "semicolon.csv",
			opts: Options{Delimiter: ';'},
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "B-1", "name", "Ремень кожаный", "price", "100,50")},
				{Row: 2, Fields: fs("sku", "B-2", "name", "Сумка; большая", "price", "2500")},
			}},
		},
		{
			name: "tab",
			file: "tab.tsv",
			opts: Options{Delimiter: '\t'},
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "T-1", "name", "Tab item", "price", "5")}}},
		},
		{
			name: "pipe",
			file: "pipe.csv",
			opts: Options{Delimiter: '|'},
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "P-1", "name", "Pipe item", "price", "7.25")}}},
		},
		{
			name: "byte order mark",
			file: "bom.csv",
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "C-1", "name", "Cable")}}},
		},
		{
			name: "wrong field count rejects rows and goes on",
			file: "wrong_field_count.csv",
			want: want{
				records: []Record{
					{Row: 1, Fields: fs("sku", "A-1", "name", "Widget", "price", "10")},
					{Row: 4, Fields: fs("sku", "A-4", "name", "Last", "price", "40")},
				},
				rejected: []int64{2, 3},
			},
		},
		{
			name: "misplaced quotes reject rows and go on",
			file: "bare_quote.csv",
			want: want{
				records:  []Record{{Row: 3, Fields: fs("sku", "A-3", "name", "Gadget")}},
				rejected: []int64{1, 2},
			},
		},
		{
			name: "truncated inside a quoted field",
			file: "truncated_quote.csv",
			want: want{
				records: []Record{{Row: 1, Fields: fs("sku", "A-1", "name", "Widget")}},
				err:     ErrMalformed,
			},
		},
		{name: "empty file", file: "empty.csv", want: want{err: ErrMalformed}},
		{name: "header without names", file: "no_names.csv", want: want{err: ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = CSV
			check(t, run(t, readFile(t, tt.file), tt.opts), tt.want)
		})
	}
}

func TestCSVRaw(t *testing.T) {
	got := run(t, readFile(t, "wrong_field_count.csv"), Options{Format: CSV})
	if raw := got.records[0].Raw; raw != "A-1,Widget,10" {
		t.Errorf("record Raw = %q, want %q", raw, "A-1,Widget,10")
	}
	if raw := got.rejected[0].Raw; raw != "A-2,Gadget" {
		t.Errorf("RecordError Raw = %q, want %q", raw, "A-2,Gadget")
	}
	if msg := got.rejected[0].Error(); !strings.Contains(msg, "2 fields, the header has 3") {
		t.Errorf("RecordError %q does not explain the field count", msg)
	}
}

func TestCSVEncoding(t *testing.T) {
	text := "sku;name\nE-1;Зонт\n"
	data, err := charmap.Windows1251.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, data, Options{Format: CSV, Delimiter: ';', Encoding: "windows-1251"})
	check(t, got, want{records: []Record{{Row: 1, Fields: fs("sku", "E-1", "name", "Зонт")}}})
}

func TestCSVExplicitUTF8(t *testing.T) {
	got := run(t, readFile(t, "bom.csv"), Options{Format: CSV, Encoding: "UTF-8"})
	check(t, got, want{records: []Record{{Row: 1, Fields: fs("sku", "C-1", "name", "Cable")}}})
	if enc, err := lookupEncoding("utf-8"); enc != nil || err != nil {
		t.Errorf("lookupEncoding(utf-8) = %v, %v; want no decoding", enc, err)
	}
}

func TestCSVInvalidUTF8(t *testing.T) {
	// Latin-1 bytes: before, they were stored as U+FFFD.
	const data = "sku,name\nX-1,caf\xe9\nX-2,\xfcn\xefc\xf6d\xe9\nX-3,ok\n"
	tests := []struct {
		name string
		opts Options
		want want
	}{
		{
			name: "undeclared: each such row is rejected",
			want: want{records: []Record{{Row: 3, Fields: fs("sku", "X-3", "name", "ok")}}, rejected: []int64{1, 2}},
		},
		{
			name: "declared: decoded",
			opts: Options{Encoding: "windows-1252"},
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "X-1", "name", "café")},
				{Row: 2, Fields: fs("sku", "X-2", "name", "ünïcödé")},
				{Row: 3, Fields: fs("sku", "X-3", "name", "ok")},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = CSV
			got := run(t, []byte(data), tt.opts)
			check(t, got, tt.want)
			for _, rerr := range got.rejected {
				if !errors.Is(rerr, ErrInvalidUTF8) {
					t.Errorf("rejected %v, want ErrInvalidUTF8", rerr)
				}
			}
			if len(got.rejected) > 0 {
				if msg := got.rejected[0].Error(); !strings.Contains(msg, `line 2: field "name": invalid UTF-8 at byte 3; set the supplier's encoding`) {
					t.Errorf("reason %q does not name the line, field and byte", msg)
				}
			}
		})
	}
}

func TestCSVInvalidUTF8Header(t *testing.T) {
	got := run(t, []byte("sku,n\xe9\nX-1,a\n"), Options{Format: CSV})
	check(t, got, want{err: ErrMalformed})
}

func TestCSVRecordTooLarge(t *testing.T) {
	// An unterminated quote swallows the rest of the feed; the bound stops
	// it from being buffered.
	data := "sku,name\nA-1,ok\nA-2,\"open\n" + strings.Repeat("x,y\n", 1000)
	got := run(t, []byte(data), Options{Format: CSV, MaxRecordBytes: 512})
	check(t, got, want{records: []Record{{Row: 1, Fields: fs("sku", "A-1", "name", "ok")}}, err: ErrMalformed})
}

func TestCSVLongRaw(t *testing.T) {
	long := strings.Repeat("ж", 300)
	got := run(t, []byte("a,b\n"+long+","+long+"\n"), Options{Format: CSV})
	if n := len(got.records[0].Raw); n > maxRaw || n < maxRaw-2 {
		t.Errorf("Raw is %d bytes, want about %d", n, maxRaw)
	}
}

func TestCSVReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r, err := NewReader(&failAfter{r: strings.NewReader("a\n1\n"), err: boom}, Options{Format: CSV})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, r)
	if !errors.Is(got.err, boom) || errors.Is(got.err, ErrMalformed) {
		t.Fatalf("final error %v, want the read error, not ErrMalformed", got.err)
	}
}

// failAfter reads r and then fails with err, like a dropped connection.
type failAfter struct {
	r   *strings.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.r.Len() == 0 {
		return 0, f.err
	}
	return f.r.Read(p)
}

// TestCSVSplitMatchesNext: reading by NextRaw and Finish gives what Next
// gives, for rows that need no cleaning, rows whose values need trimming,
// invalid UTF-8, a wrong field count, quoted fields over lines, a field
// over its bound and an unnamed column, with one Finisher reused.
func TestCSVSplitMatchesNext(t *testing.T) {
	data := "sku, name ,,price\n" +
		"A,Lamp,x,1.00\n" +
		"B, Desk ,y,2.00\n" +
		"C,\"Multi\nline, quoted\",z,3.00\n" +
		"D,bad \xff byte,z,4.00\n" +
		"E,too,many,fields,here\n" +
		"F," + strings.Repeat("w", 300) + ",z,6.00\n" +
		"G,\u00a0nbsp\u00a0,z,7.00\n" +
		"H,last,z,8.00"
	splitMatchesNext(t, []byte(data), Options{Format: CSV, MaxFieldBytes: 256})
	splitMatchesNext(t, []byte(data), Options{Format: CSV})
}

// TestCSVPlainRows: a row without quotes is its line split at the
// delimiters (parseRow's shortcut for it), for random rows, empty fields,
// and a delimiter of more than one byte.
func TestCSVPlainRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sep := range []string{",", ";", "§"} {
		for n := range 2000 {
			var fields []string
			for range 1 + rng.IntN(6) {
				alphabet := []string{" ", "a", "b", ",", ";", "\t", "|", "x", "é", "\xc2", "\xa7"}
				var b strings.Builder
				for range rng.IntN(12) {
					b.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
				f := b.String()
				for strings.Contains(f, sep) {
					f = strings.ReplaceAll(f, sep, "")
				}
				fields = append(fields, f)
			}
			line := strings.Join(fields, sep)
			if line == "" {
				continue // a blank line is skipped, not a row
			}
			c, err := newCSVReader(strings.NewReader(line+"\n"+line), Options{Delimiter: []rune(sep)[0]})
			if err != nil {
				t.Fatal(err)
			}
			for _, last := range []bool{false, true} { // with "\n", and at the end of the file
				var row csvRow
				c.parseRow(&row)
				if row.err != nil && !(last && row.err == io.EOF) {
					t.Fatalf("%q: %v", line, row.err)
				}
				var ends []int
				at := 0
				for i, f := range fields {
					if i > 0 {
						at += len(sep)
					}
					at += len(f)
					ends = append(ends, at)
				}
				if string(row.buf) != line || !slices.Equal(row.ends, ends) {
					t.Fatalf("row %d %q (sep %q): buf %q ends %v, want ends %v", n, line, sep, row.buf, row.ends, ends)
				}
			}
		}
	}
}

// TestCSVFinishConcurrently: records finished on three goroutines, each
// with its Finisher, while NextRaw goes on reading, are those Next reads,
// whatever the rows need (trimming, a quote, invalid UTF-8). Run with
// -race, it also checks that Finish shares nothing NextRaw writes.
func TestCSVFinishConcurrently(t *testing.T) {
	var b strings.Builder
	b.WriteString("sku,name,note\n")
	for i := range 5000 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "S%d, padded ,x\n", i)
		case 1:
			fmt.Fprintf(&b, "S%d,\"quoted, %d\",y\n", i, i)
		case 2:
			fmt.Fprintf(&b, "S%d,bad \xff,z\n", i)
		default:
			fmt.Fprintf(&b, "S%d,plain %d,w\n", i, i)
		}
	}
	finishConcurrently(t, b.String(), Options{Format: CSV})
}

// finishConcurrently fails unless the records of data finished on three
// goroutines, each with its Finisher, while NextRaw goes on reading, are
// those Next reads.
func finishConcurrently(t *testing.T, data string, opts Options) {
	t.Helper()
	next, err := NewReader(strings.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{}
	for {
		rec, err := next.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *RecordError
		if errors.As(err, &re) {
			want[re.Row] = "error " + re.Error()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want[rec.Row] = fmt.Sprint(rec.Fields, rec.Raw)
	}

	r, err := NewReader(strings.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	sp := r.(Splitter)
	raws := make(chan RawRecord, 64)
	got := make(chan [2]string, 64)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			var f Finisher
			for raw := range raws {
				rec, err := sp.Finish(raw, &f)
				s := fmt.Sprint(rec.Fields, rec.Raw)
				if err != nil {
					s = "error " + err.Error()
				}
				got <- [2]string{fmt.Sprint(raw.Row), s}
			}
		})
	}
	go func() { wg.Wait(); close(got) }()
	go func() {
		defer close(raws)
		for {
			raw, err := sp.NextRaw()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Error(err)
				}
				return
			}
			raws <- raw
		}
	}()
	n := 0
	for g := range got {
		n++
		if w := want[int64(mustAtoi(t, g[0]))]; g[1] != w {
			t.Fatalf("row %s finished concurrently: %s, Next read %s", g[0], g[1], w)
		}
	}
	if n != len(want) {
		t.Fatalf("%d rows finished, Next read %d", n, len(want))
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFinisherForgetsWideRecords: a Finisher does not keep the Fields of a
// very wide record for the records after it.
func TestFinisherForgetsWideRecords(t *testing.T) {
	header := make([]string, 5000)
	wide := make([]string, 5000)
	for i := range header {
		header[i], wide[i] = fmt.Sprintf("c%d", i), "v"
	}
	narrow := append([]string{"a", "b"}, make([]string, 4998)...)
	data := strings.Join(header, ",") + "\n" + strings.Join(wide, ",") + "\n" + strings.Join(narrow, ",") + "\n"
	r, err := NewReader(strings.NewReader(data), Options{Format: CSV})
	if err != nil {
		t.Fatal(err)
	}
	sp := r.(Splitter)
	var f Finisher
	for i, want := range []int{5000, 2} {
		raw, err := sp.NextRaw()
		if err != nil {
			t.Fatal(err)
		}
		rec, err := sp.Finish(raw, &f)
		if err != nil || len(rec.Fields) != want {
			t.Fatalf("record %d: %d fields, %v; want %d", i+1, len(rec.Fields), err, want)
		}
	}
	if c := cap(f.fields); c > keptFields {
		t.Fatalf("the Finisher kept room for %d fields after a narrow record", c)
	}
}

// TestCSVUncutRows: a row NextRaw leaves uncut has the key (RawKey) that
// it had when NextRaw cut it (parseRow), so that products stored from it
// are found again, and Finish makes of it what it made of the cut row, or
// refuses it with the error NextRaw gave: for random rows of random width
// (a wrong one too), values over the field bound, and delimiters of one
// byte and more.
func TestCSVUncutRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sep := range []string{",", "\t", "§"} {
		var b strings.Builder
		b.WriteString(strings.Join([]string{"sku", " name", "", "note"}, sep) + "\n")
		for range 3000 {
			var fields []string
			width := 4 // the header's
			if rng.IntN(6) == 0 {
				width += 2*rng.IntN(2) - 1
			}
			for range width {
				alphabet := []string{" ", "a", "b", "x", "y", "z", "é", "§", "\u00a0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "q"}
				if rng.IntN(20) == 0 {
					alphabet = append(alphabet, "\xff")
				}
				var f strings.Builder
				for range rng.IntN(7) {
					f.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
				fields = append(fields, strings.ReplaceAll(f.String(), sep, ""))
			}
			if line := strings.Join(fields, sep); line != "" {
				b.WriteString(line + "\n")
			}
		}
		data := b.String()
		opts := Options{Format: CSV, Delimiter: []rune(sep)[0], MaxFieldBytes: 12}
		uncut, err := newCSVReader(strings.NewReader(data), opts)
		if err != nil {
			t.Fatal(err)
		}
		cut, err := newCSVReader(strings.NewReader(data), opts)
		if err != nil {
			t.Fatal(err)
		}
		var fu, fc, fk Finisher
		rows, refused := 0, 0
		for {
			raw, err := uncut.NextRaw()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || !raw.uncut {
				t.Fatalf("sep %q row %d: %+v, %v: want an uncut row", sep, rows+1, raw, err)
			}
			rows++
			row, wantErr := cut.nextRow()
			var want RawRecord
			if wantErr == nil {
				want = RawRecord{Row: cut.row, line: row.line, text: string(row.buf), ends: slices.Clone(row.ends)}
				if got, wantKey := key(uncut, raw), key(cut, want); got != wantKey {
					t.Fatalf("sep %q row %d %q: key %s, cut %s", sep, rows, raw.text, got, wantKey)
				}
			}
			got, gotErr := uncut.Finish(raw, &fu)
			// Cut first, then RawKey and Finish: the same key, and the
			// same record or refusal.
			cutRaw := raw
			uncut.Cut(&cutRaw, &fk)
			if k, want := key(uncut, cutRaw), key(uncut, raw); k != want {
				t.Fatalf("sep %q row %d %q: key after Cut %s, without %s", sep, rows, raw.text, k, want)
			}
			if rec, err := uncut.Finish(cutRaw, &fk); fmt.Sprint(err) != fmt.Sprint(gotErr) ||
				rec.Row != got.Row || rec.Raw != got.Raw || !slices.Equal(rec.Fields, got.Fields) {
				t.Fatalf("sep %q row %d %q: Finish after Cut %+v, %v; without %+v, %v", sep, rows, raw.text, rec, err, got, gotErr)
			}
			if u := cutRaw.Uncut(); !u.uncut || u.ends != nil || u.text != raw.text {
				t.Fatalf("sep %q row %d: Uncut %+v", sep, rows, u)
			}
			var wantRec Record
			if wantErr == nil {
				wantRec, wantErr = cut.Finish(want, &fc)
			}
			if wantErr != nil {
				refused++
				gotRE, ok1 := errors.AsType[*RecordError](gotErr)
				wantRE, ok2 := errors.AsType[*RecordError](wantErr)
				if !ok1 || !ok2 || gotRE.Row != wantRE.Row || gotRE.Raw != wantRE.Raw || gotRE.Err.Error() != wantRE.Err.Error() {
					t.Fatalf("sep %q row %d %q: Finish %v, want %v", sep, rows, raw.text, gotErr, wantErr)
				}
				continue
			}
			if gotErr != nil || got.Row != wantRec.Row || got.Raw != wantRec.Raw || !slices.Equal(got.Fields, wantRec.Fields) {
				t.Fatalf("sep %q row %d %q: Finish %+v, %v; want %+v", sep, rows, raw.text, got, gotErr, wantRec)
			}
		}
		if rows < 2500 || refused < rows/10 || refused > rows*9/10 {
			t.Fatalf("sep %q: %d rows, %d refused: the test reads too little of one kind", sep, rows, refused)
		}
	}
}

func key(r RawKeyer, raw RawRecord) string {
	text, context, ok := r.RawKey(raw)
	return fmt.Sprintf("%q %x %v", text, context, ok)
}
