package bench

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wf "contextworker/workflows/harvest"
)

// TestCatalogues: generated sizes come first, each with its two changed
// feeds; the user's file follows, its input strict and its format taken
// from the extension; what the bench cannot measure is refused before any
// work, naming what to give instead.
func TestCatalogues(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("sku,name\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own, changed := file("Own Catalogue.CSV"), file("own-2.csv")
	cats, err := catalogues(Options{Sizes: []int{1000}, GardenerSizes: []int{1000}, Feed: own, FeedChanged: changed, FeedGardener: true,
		FeedInput: `{"delimiter":";","mapping":{"sku":"id"}}`}, "127.0.0.1:9", dir, http.NewServeMux())
	if err != nil {
		t.Fatal(err)
	}
	if len(cats) != 2 {
		t.Fatalf("%d catalogues, want 2", len(cats))
	}
	gen, user := cats[0], cats[1]
	if gen.label != "1000" || gen.gen == nil || gen.gen.N != 1000 || !gen.gardener || len(gen.changes) != 2 || gen.changes[0].what != "names and prices" ||
		!gen.changes[0].gen.MutateName || gen.changes[1].gen.MutateName || gen.changes[1].gen.Mutate != 0.1 ||
		filepath.Base(gen.changes[0].path) != "feed-1000-changed-names.csv" {
		t.Errorf("generated: %+v", gen)
	}
	if user.label != "Own Catalogue.CSV" || user.gen != nil || user.input.Format != "csv" || user.input.Delimiter != ";" ||
		user.input.Mapping["sku"] != "id" || user.input.SupplierCode != "own" || !user.input.Force {
		t.Errorf("own: %+v", user)
	}
	if !strings.Contains(user.url, "/own/0/Own%20Catalogue.CSV") || len(user.changes) != 1 || !strings.Contains(user.changes[0].url, "/own/1/own-2.csv") {
		t.Errorf("own urls: %s, %+v", user.url, user.changes)
	}

	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown input field", Options{Feed: own, FeedInput: `{"formt":"csv"}`}, `unknown field "formt"`},
		{"state", Options{Feed: own, FeedInput: `{"state":{}}`}, "state is the workflow's own"},
		{"changed without gardener", Options{Feed: own, FeedChanged: changed}, "give -feed-gardener too"},
		{"unknown extension", Options{Feed: file("own.txt")}, `give its format in -feed-input ("txt" is not one)`},
		{"xlsx", Options{Feed: file("own.xlsx")}, "export the sheet as CSV"},
		{"encoding", Options{Feed: own, FeedInput: `{"encoding":"x-mac-roman"}`}, `no psql \copy baseline for encoding "x-mac-roman"`},
		{"missing file", Options{Feed: filepath.Join(dir, "gone.csv")}, "no such file"},
	} {
		if _, err := catalogues(tc.o, "127.0.0.1:9", dir, http.NewServeMux()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestCopySource: psql \copy reads a file by its quoted name, a gzipped one
// through gzip -dc with the name quoted for the shell inside the quoted
// command, and a declared encoding becomes COPY's.
func TestCopySource(t *testing.T) {
	// XML feeds that declare their encoding, and one that declares UTF-8.
	dir := t.TempDir()
	xml1251, xml1251gz, xmlUTF8 := filepath.Join(dir, "f.yml"), filepath.Join(dir, "f.xml.gz"), filepath.Join(dir, "u.xml")
	decl := `<?xml version="1.0" encoding="windows-1251"?>` + "\n<yml_catalog/>\n"
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	if _, err := z.Write([]byte(decl)); err != nil || z.Close() != nil {
		t.Fatal(err)
	}
	for path, data := range map[string][]byte{xml1251: []byte(decl), xml1251gz: gz.Bytes(), xmlUTF8: []byte("\ufeff<?xml version='1.0' encoding='UTF-8'?><c/>")} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		c              catalogue
		from, encoding string
	}{
		{catalogue{path: "/data/it's.csv"}, `'/data/it''s.csv'`, ""},
		{catalogue{path: "/data/it's.csv.gz"}, `PROGRAM 'gzip -dc -- ''/data/it''\''''s.csv.gz'''`, ""},
		{catalogue{path: "/data/f.csv", input: inputWith("Windows-1252")}, `'/data/f.csv'`, ", ENCODING 'WIN1252'"},
		{catalogue{path: xml1251}, literal(xml1251), ", ENCODING 'WIN1251'"},
		{catalogue{path: xml1251gz}, `PROGRAM 'gzip -dc -- '` + literal(xml1251gz) + `''`, ", ENCODING 'WIN1251'"},
		{catalogue{path: xmlUTF8}, literal(xmlUTF8), ""},
	} {
		from, encoding, err := copySource(tc.c)
		if err != nil || from != tc.from || encoding != tc.encoding {
			t.Errorf("%s: %s%s (%v), want %s%s", tc.c.path, from, encoding, err, tc.from, tc.encoding)
		}
	}
}

func inputWith(encoding string) wf.Input { return wf.Input{Encoding: encoding} }

// TestMedian: medians of the pairs' COPYs, harvests and ratios, each on
// its own (the lower middle of an even number), whatever the order the
// runs came in; the runs keep their order.
func TestMedian(t *testing.T) {
	s := time.Second
	// The median COPY, harvest and ratio each belong to another pair, so
	// a median taken by the wrong key, or a ratio of the medians, fails.
	runs := pairs{
		{copy: 4 * s, took: 8 * s, rep: wf.Report{RunID: "a"}},  // 2.0x
		{copy: 5 * s, took: 11 * s, rep: wf.Report{RunID: "b"}}, // 2.2x
		{copy: 6 * s, took: 9 * s, rep: wf.Report{RunID: "c"}},  // 1.5x
	}
	if got := runs.copy(); got != 5*s {
		t.Errorf("median copy %v, want 5s", got)
	}
	if got := runs.took(); got != 9*s {
		t.Errorf("median harvest %v, want 9s", got)
	}
	if got := runs.ratio(); got != 2 {
		t.Errorf("median ratio %v, want 2 (the medians 9s/5s would be 1.8)", got)
	}
	if got := runs.report().RunID; got != "c" {
		t.Errorf("report of run %s, want c (the median harvest time)", got)
	}
	if got := runs[0].rep.RunID + runs[1].rep.RunID + runs[2].rep.RunID; got != "abc" {
		t.Errorf("runs in order %s, want abc (medians must not sort them)", got)
	}
	four := append(slices.Clone(runs), pair{copy: 7 * s, took: 10 * s, rep: wf.Report{RunID: "d"}})
	if got := four.report().RunID; got != "c" {
		t.Errorf("of 8, 11, 9, 10: run %s, want c (the lower middle)", got)
	}
}

// TestBracketed: each run is compared with the mean of the COPY before it
// and the COPY after it, which is the next run's; a warm-up takes its
// COPY after too but stays out of the runs; a run still waiting for its
// COPY after is in neither.
func TestBracketed(t *testing.T) {
	s := time.Second
	var lines []string
	l := loader{warmup: true, say: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }}
	var b bracketed
	b.copied(l, 9*s) // nothing pending: no line
	b.ran(0, pair{copy: 9 * s, took: 12 * s}, "w: ", ".")
	b.copied(l, 3*s)
	b.ran(1, pair{copy: 3 * s, took: 6 * s}, "1: ", ".")
	b.copied(l, 5*s)
	b.ran(2, pair{copy: 5 * s, took: 7 * s}, "2: ", ".")
	b.copied(l, 2*s)
	b.ran(3, pair{copy: 2 * s, took: 4 * s}, "3: ", ".")
	if b.warmup == nil || b.warmup.ratio() != 2 {
		t.Fatalf("warm-up %+v, want 12s against (9s+3s)/2: 2x", b.warmup)
	}
	want := []float64{1.5, 2, 7.0 / 3.5} // 6/((3+5)/2), 7/((5+2)/2)
	if got := b.runs.ratios(); len(got) != 2 || got[0] != want[0] || got[1] != want[2] {
		t.Errorf("ratios %v, want %v and %v (run 3 waits for its COPY after)", got, want[0], want[2])
	}
	if got := b.runs[0].after; got != 5*s {
		t.Errorf("run 1's COPY after %v, want 5s (run 2's before)", got)
	}
	wantLines := []string{
		"w: 2.00x the mean of the copies before and after it (9s, 3s).",
		"1: 1.50x the mean of the copies before and after it (3s, 5s).",
		"2: 2.00x the mean of the copies before and after it (5s, 2s).",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("lines\n%q\nwant\n%q", lines, wantLines)
	}
	if (pair{copy: 4 * s, took: 6 * s}).ratio() != 1.5 {
		t.Error("a pair with no COPY after is compared with the one before")
	}
}
