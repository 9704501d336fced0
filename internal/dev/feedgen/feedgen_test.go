package feedgen

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
)

// write runs Write into memory and checks the invariants every Stats must
// satisfy.
func write(t testing.TB, o Options) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, o)
	if err != nil {
		t.Fatalf("Write(%+v): %v", o, err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Errorf("Stats.Bytes = %d, wrote %d", st.Bytes, buf.Len())
	}
	if st.Valid+st.Bad != st.Records {
		t.Errorf("Stats: valid %d + bad %d != records %d", st.Valid, st.Bad, st.Records)
	}
	sum := 0
	for _, n := range st.BadReasons {
		sum += n
	}
	if sum != st.Bad {
		t.Errorf("Stats.BadReasons %v sum to %d, want Bad = %d", st.BadReasons, sum, st.Bad)
	}
	return buf.Bytes(), st
}

// readAll parses a generated feed with package feed, as a harvest would.
func readAll(t *testing.T, data []byte, format string) []feed.Record {
	t.Helper()
	r, err := feed.Open(bytes.NewReader(data), feed.Options{Format: feed.Format(format), RecordElement: "product"})
	if err != nil {
		t.Fatalf("feed.Open(%s): %v", format, err)
	}
	t.Cleanup(func() { r.Close() })
	var recs []feed.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("feed %s: record %d: %v", format, len(recs)+1, err)
		}
		recs = append(recs, rec)
	}
}

func TestWriteDeterministic(t *testing.T) {
	for _, format := range formats {
		for _, gz := range []bool{false, true} {
			o := Options{N: 2000, Seed: 7, BadShare: 0.05, Format: format, Gzip: gz, Mutate: 0.1, SkipEvery: 13}
			name := format
			if gz {
				name += ".gz"
			}
			t.Run(name, func(t *testing.T) {
				a, _ := write(t, o)
				b, _ := write(t, o)
				if sha256.Sum256(a) != sha256.Sum256(b) {
					t.Fatal("two runs with the same options differ")
				}
				o.Seed++
				if c, _ := write(t, o); bytes.Equal(a, c) {
					t.Fatal("another seed gives the same bytes")
				}
			})
		}
	}
}

func TestWriteGzipIsPlainCompressed(t *testing.T) {
	o := Options{N: 500, Seed: 3, BadShare: 0.1, Format: "jsonl"}
	plain, _ := write(t, o)
	o.Gzip = true
	zipped, st := write(t, o)
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("gunzipped output differs from the plain output")
	}
	if st.Bytes >= int64(len(plain)) {
		t.Errorf("gzip output is %d bytes, plain %d", st.Bytes, len(plain))
	}
}

func TestWriteStats(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"empty", Options{N: 0, Format: "json"}},
		{"all valid", Options{N: 1000, Seed: 1, Format: "csv"}},
		{"two percent bad", Options{N: 20000, Seed: 2, BadShare: 0.02, Format: "csv"}},
		{"all bad", Options{N: 600, Seed: 3, BadShare: 1, Format: "jsonl"}},
		{"skip every third", Options{N: 1000, Seed: 4, BadShare: 0.1, Format: "xml", SkipEvery: 3}},
		{"skip every record", Options{N: 50, Seed: 5, Format: "yml", SkipEvery: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st := write(t, tt.o)
			wantRecords, wantValid := 0, 0
			for i := range tt.o.N {
				if Skipped(tt.o, i) {
					continue
				}
				wantRecords++
				if _, valid := Record(tt.o, i); valid {
					wantValid++
				}
			}
			if tt.o.SkipEvery > 0 && wantRecords != tt.o.N-tt.o.N/tt.o.SkipEvery {
				t.Errorf("%d records kept, want N - N/SkipEvery = %d", wantRecords, tt.o.N-tt.o.N/tt.o.SkipEvery)
			}
			if st.Records != wantRecords || st.Valid != wantValid {
				t.Errorf("Stats records %d valid %d, Record says %d and %d", st.Records, st.Valid, wantRecords, wantValid)
			}
			// Bad records are Bernoulli draws: allow five standard deviations.
			want := tt.o.BadShare * float64(st.Records)
			tol := 5*math.Sqrt(want*(1-tt.o.BadShare)) + 0.5
			if math.Abs(float64(st.Bad)-want) > tol {
				t.Errorf("%d bad records of %d, want %.0f ± %.0f", st.Bad, st.Records, want, tol)
			}
		})
	}
}

// TestRoundTrip is the contract with the harvest: every format, parsed by
// package feed and normalised by package product with the default mapping,
// yields exactly the records Record calls valid, with the generated
// content, and rejects every bad one on its defect's field.
func TestRoundTrip(t *testing.T) {
	type variant struct {
		format string
		gzip   bool
	}
	variants := []variant{{"csv", false}, {"csv", true}, {"jsonl", false}, {"json", false}, {"xml", false}, {"yml", false}, {"yml", true}}
	for _, v := range variants {
		o := Options{N: 3000, Seed: 42, BadShare: 0.1, Format: v.format, Gzip: v.gzip, Mutate: 0.2, SkipEvery: 9}
		name := v.format
		if v.gzip {
			name += ".gz"
		}
		t.Run(name, func(t *testing.T) {
			data, st := write(t, o)
			recs := readAll(t, data, o.Format)
			if len(recs) != st.Records {
				t.Fatalf("feed has %d records, Stats.Records = %d", len(recs), st.Records)
			}
			n, err := product.NewNormalizer(product.Options{Format: o.Format})
			if err != nil {
				t.Fatal(err)
			}
			g := newGenerator(o)
			var r record
			i, valid, rejected := 0, 0, map[string]int{}
			for _, rec := range recs {
				for Skipped(o, i) {
					i++
				}
				sku, wantValid := Record(o, i)
				g.build(i, &r)
				p, err := n.Normalize(rec)
				if wantValid {
					if err != nil {
						t.Fatalf("record %d (%s): want valid, got %v\nraw: %s", i, sku, err, rec.Raw)
					}
					_, params := any(rec).(product.Enumerator)
					checkProduct(t, p, &r, o.Format == "yml" && params)
					valid++
				} else {
					var rej *product.Reject
					if !errors.As(err, &rej) {
						t.Fatalf("record %d (%s): want a *product.Reject on %q, got %v", i, sku, r.defect.field(), err)
					}
					if rej.Field != r.defect.field() {
						t.Fatalf("record %d (%s): rejected on %q (%v), want %q", i, sku, rej.Field, rej, r.defect.field())
					}
					if got := rec.Get(skuField(o.Format)); got != sku {
						t.Fatalf("record %d: bad record has sku %q, want %q", i, got, sku)
					}
					rejected[rej.Field]++
				}
				i++
			}
			if valid != st.Valid {
				t.Errorf("%d records normalised, Stats.Valid = %d", valid, st.Valid)
			}
			if !reflect.DeepEqual(rejected, st.BadReasons) {
				t.Errorf("rejections by field %v, Stats.BadReasons %v", rejected, st.BadReasons)
			}
			for _, f := range badFields {
				if rejected[f] == 0 {
					t.Errorf("no record was rejected on %q; raise N or BadShare", f)
				}
			}
		})
	}
}

func skuField(format string) string { return product.DefaultMapping(format)["sku"] }

// checkProduct compares a normalised product with the record it came from.
// Only YML params become attributes without a mapping, and only when the
// feed record can enumerate its fields (product.Enumerator).
func checkProduct(t *testing.T, p product.Product, r *record, params bool) {
	t.Helper()
	price, err := product.ParseDecimal(r.price)
	if err != nil {
		t.Fatalf("%s: generated price %q: %v", r.sku, r.price, err)
	}
	stock := int64(r.stock)
	want := product.Product{
		SKU:          r.sku,
		Name:         r.name,
		Description:  r.description,
		Brand:        r.brand,
		GTIN:         r.gtin,
		Price:        price,
		Currency:     r.currency,
		Stock:        &stock,
		Availability: product.Availability(r.availability()),
		CategoryPath: []string{r.cat.top, r.cat.leaf},
		URL:          r.url,
		Images:       r.images[:r.nimages],
	}
	if params {
		want.Attributes = product.Attributes{{Key: "color", Value: r.color}, {Key: "size", Value: r.size}}
	}
	if p.Stock == nil || *p.Stock != stock {
		t.Fatalf("%s: stock %v, want %d", r.sku, p.Stock, stock)
	}
	p.Stock = want.Stock
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("%s: normalised to\n%+v\nwant\n%+v", r.sku, p, want)
	}
}

func TestMutate(t *testing.T) {
	base := Options{N: 4000, Seed: 11, BadShare: 0.05, Format: "jsonl"}
	changed := base
	changed.Mutate = 0.25
	data0, _ := write(t, base)
	data1, _ := write(t, changed)
	a, b := readAll(t, data0, base.Format), readAll(t, data1, base.Format)
	if len(a) != len(b) {
		t.Fatalf("%d records with Mutate 0, %d with %v", len(a), len(b), changed.Mutate)
	}
	mutations := 0
	for i := range a {
		if !reflect.DeepEqual(without(a[i], "price"), without(b[i], "price")) {
			t.Fatalf("record %d: fields other than price differ:\n%v\n%v", i, a[i].Fields, b[i].Fields)
		}
		differs := a[i].Get("price") != b[i].Get("price")
		if differs != Mutated(changed, i) {
			t.Fatalf("record %d: price %q -> %q, Mutated = %t", i, a[i].Get("price"), b[i].Get("price"), Mutated(changed, i))
		}
		if differs {
			mutations++
		}
	}
	if share := float64(mutations) / float64(len(a)); math.Abs(share-changed.Mutate) > 0.03 {
		t.Errorf("%.3f of prices changed, want about %v", share, changed.Mutate)
	}
}

// TestMutateName: with MutateName, the records Mutate changes get another
// name too, and no other record changes.
func TestMutateName(t *testing.T) {
	prices := Options{N: 3000, Seed: 11, BadShare: 0.05, Format: "csv", Mutate: 0.2}
	names := prices
	names.MutateName = true
	data0, _ := write(t, prices)
	data1, _ := write(t, names)
	a, b := readAll(t, data0, prices.Format), readAll(t, data1, prices.Format)
	if len(a) != len(b) {
		t.Fatalf("%d records without MutateName, %d with", len(a), len(b))
	}
	renamed := 0
	for i := range a {
		if !reflect.DeepEqual(without(a[i], "name"), without(b[i], "name")) {
			t.Fatalf("record %d: fields other than the name differ:\n%v\n%v", i, a[i].Fields, b[i].Fields)
		}
		if a[i].Get("name") != b[i].Get("name") {
			renamed++
			if !mutated(names, i) {
				t.Fatalf("record %d renamed, but Mutate does not change it", i)
			}
		}
	}
	if share := float64(renamed) / float64(len(a)); math.Abs(share-names.Mutate) > 0.03 {
		t.Errorf("%.3f of names changed, want about %v", share, names.Mutate)
	}
}

func without(r feed.Record, name string) []feed.Field {
	var out []feed.Field
	for _, f := range r.Fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	return out
}

// TestRecordIndependent checks that a record does not depend on the records
// generated before it, which Record and the tests rely on.
func TestRecordIndependent(t *testing.T) {
	o := Options{N: 100, Seed: 5, BadShare: 0.2, Mutate: 0.3, Format: "csv"}
	warm := newGenerator(o)
	var got, want record
	for i := range o.N {
		warm.build(i, &got)
		newGenerator(o).build(i, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d differs when built after others:\n%+v\n%+v", i, got, want)
		}
		if sku := SKU(i); got.sku != sku {
			t.Fatalf("record %d: sku %q, SKU says %q", i, got.sku, sku)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{N: 10, Format: "csv"}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string // "" means valid
	}{
		{"valid", func(*Options) {}, ""},
		{"bounds are valid", func(o *Options) { o.BadShare, o.Mutate = 1, 1 }, ""},
		{"negative n", func(o *Options) { o.N = -1 }, "n is -1"},
		{"bad share above 1", func(o *Options) { o.BadShare = 1.5 }, "bad share is 1.5, want 0 to 1"},
		{"bad share NaN", func(o *Options) { o.BadShare = math.NaN() }, "bad share is NaN"},
		{"negative mutate", func(o *Options) { o.Mutate = -0.1 }, "mutate is -0.1"},
		{"negative skip", func(o *Options) { o.SkipEvery = -2 }, "skip every is -2"},
		{"unknown format", func(o *Options) { o.Format = "xlsx" }, `unknown format "xlsx" (valid: csv, jsonl, json, xml, yml)`},
		{"empty format", func(o *Options) { o.Format = "" }, `unknown format ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			err := o.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
			if _, werr := Write(io.Discard, o); werr == nil || !strings.Contains(werr.Error(), tt.wantErr) {
				t.Fatalf("Write = %v, want an error containing %q", werr, tt.wantErr)
			}
		})
	}
}

var errDiskFull = errors.New("disk full")

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errDiskFull
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	for _, format := range formats {
		for _, gz := range []bool{false, true} {
			o := Options{N: 100000, Seed: 1, Format: format, Gzip: gz}
			st, err := Write(&failingWriter{limit: 100 << 10}, o)
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("%s gzip=%t: Write = %v, want the writer's error", format, gz, err)
			}
			if st.Bytes != 100<<10 {
				t.Errorf("%s gzip=%t: Stats.Bytes = %d, want the %d accepted", format, gz, st.Bytes, 100<<10)
			}
		}
	}
}

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		payload string
		want    byte
	}{
		{"400638133393", 1}, // EAN-13 4006381333931
		{"590123412345", 7}, // EAN-13 5901234123457
		{"000000000000", 0},
	}
	for _, tt := range tests {
		if got := checkDigit([]byte(tt.payload)); got != tt.want {
			t.Errorf("checkDigit(%q) = %d, want %d", tt.payload, got, tt.want)
		}
	}
}

func BenchmarkWriteCSV(b *testing.B) {
	o := Options{N: 10000, Seed: 1, BadShare: 0.02, Format: "csv"}
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		st, err := Write(io.Discard, o)
		if err != nil {
			b.Fatal(err)
		}
		bytes = st.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(b.N)*float64(o.N)/b.Elapsed().Seconds(), "records/s")
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in  string
		wantJSON  string
		wantXML   string
		jsonRound bool // json.Unmarshal gives in back
	}{
		{"plain", "Acme Pro", `"Acme Pro"`, "Acme Pro", true},
		{"markup", `Hansen & Co <b>"x"</b>`, `"Hansen & Co <b>\"x\"</b>"`, "Hansen &amp; Co &lt;b&gt;&quot;x&quot;&lt;/b&gt;", true},
		{"backslash", `a\b`, `"a\\b"`, `a\b`, true},
		{"controls", "a\tb\nc\x01d", `"a\tb\nc\u0001d"`, "a\tb\nc\uFFFDd", true},
		{"non-ASCII", "Čapek Über", `"Čapek Über"`, "Čapek Über", true},
		{"invalid UTF-8", "a\xffb", "\"a\uFFFDb\"", "a\uFFFDb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendJSONString(nil, tt.in)); got != tt.wantJSON {
				t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.wantJSON)
			}
			if tt.jsonRound {
				var back string
				if err := json.Unmarshal(appendJSONString(nil, tt.in), &back); err != nil || back != tt.in {
					t.Errorf("json.Unmarshal = %q, %v; want %q", back, err, tt.in)
				}
			}
			if got := string(appendXMLText(nil, tt.in)); got != tt.wantXML {
				t.Errorf("appendXMLText(%q) = %q, want %q", tt.in, got, tt.wantXML)
			}
		})
	}
}
