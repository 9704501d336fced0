package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// finishVersions is every xmlFinishVersion and csvFinishVersion there
// has been, with the digest of what Finish made of the records of
// finishFeeds under it. Stored text keys are only as good as this: a
// change to Finish that changes some record's Fields changes the digest,
// and must come with a new version (and a new line here), so that no
// product stored by the old rules is taken for unchanged by the new.
// Never edit a line once committed.
var finishVersions = map[string][]struct{ version, digest string }{
	"xml":  {{"feed/xml/finish/1", "8fff304f128c53a9"}},
	"csv":  {{"feed/csv/finish/1", "7121f16388749258"}},
	"json": {{"feed/json/finish/1", "4451299435d9339f"}},
}

// finishFeeds are the feeds of TestFinishVersions, by the version they
// hold to: the test feeds, and records of what the fast paths leave to the
// slow ones.
var finishFeeds = map[string][]struct {
	file string
	opts Options
	text string
}{
	"xml": {
		{file: "good.xml", opts: Options{Format: XML, RecordElement: "item"}},
		{file: "good.xml", opts: Options{Format: XML, RecordPath: "catalog.items.item"}},
		{file: "mismatched.xml", opts: Options{Format: XML, RecordElement: "item"}},
		{file: "truncated.xml", opts: Options{Format: XML, RecordElement: "item"}},
		{file: "offers.yml", opts: Options{Format: YML}},
		{file: "broken_tree.yml", opts: Options{Format: YML}},
		{file: "truncated.yml", opts: Options{Format: YML}},
		{opts: Options{Format: XML, RecordElement: "item"}, text: `<?xml version="1.0"?><feed xmlns:a="urn:a"><items>
<item a:id="1"><a:name> Spaced &#x41;&#66; </a:name><x><y><z>deep</z></y></x><p>a<![CDATA[b]]>c<!-- c -->d</p></item>
<item><name>Caf&eacute; &amp; &lt;bar&gt;</name><?pi inside?><price>1,5</price></item>
<item id="3">own text<b>bold</b> more</item>
<item><item>nested</item><price>2</price></item>
<item><name>a&#xD;&#10;b</name><empty/><attr k="v &quot;q&quot;" j='s'/></item>
</items></feed>`},
		{opts: Options{Format: YML}, text: `<yml_catalog><shop><categories><category id="1">A</category><category id="2" parentId="1">B &amp; C</category></categories><offers>
<offer id="1"><categoryId>2</categoryId><param name="Size" unit="cm">10</param><param>no name</param><description><p>html <b>kept</b></p></description></offer>
<offer id="2"><categoryId>9</categoryId><param name="  W  ">x</param><description>plain</description></offer>
</offers></shop></yml_catalog>`},
	},
	"csv": {
		{file: "good.csv", opts: Options{Format: CSV}},
		{file: "semicolon.csv", opts: Options{Format: CSV, Delimiter: ';'}},
		{file: "tab.tsv", opts: Options{Format: CSV, Delimiter: '\t'}},
		{file: "pipe.csv", opts: Options{Format: CSV, Delimiter: '|'}},
		{file: "bom.csv", opts: Options{Format: CSV}},
		{file: "bare_quote.csv", opts: Options{Format: CSV}},
		{file: "wrong_field_count.csv", opts: Options{Format: CSV}},
		{file: "truncated_quote.csv", opts: Options{Format: CSV}},
		{opts: Options{Format: CSV}, text: "sku, Name ,,name,price\n" +
			"a,\"b,c\",x,\"multi\nline\",\"  1.5  \"\n" +
			"a,b,\"c,x\",multi,1\n" +
			"\"\"\"q\"\"\", tab\there ,,\u00a0nb\u00a0sp,\r\n" +
			"ctl\x01x,bad\xffutf8,,,\n" +
			",,,,\n"},
	},
	"json": {
		{file: "good.json", opts: Options{Format: JSON}},
		{file: "mixed.json", opts: Options{Format: JSON}},
		{file: "nested.json", opts: Options{Format: JSON, RecordPath: "products"}},
		{file: "trailing.json", opts: Options{Format: JSON}},
		{file: "truncated_object.json", opts: Options{Format: JSON}},
		{file: "good.jsonl", opts: Options{Format: JSONL}},
		{file: "bad_line.jsonl", opts: Options{Format: JSONL}},
		{opts: Options{Format: JSON}, text: `[{"sku":"a","n":1.50e2,"t":true,"z":null,"s":"\u00e9\n\"q\" \ud83d\ude00"},` +
			`{"a":{"b":{"c":[1,{"d":"x"},[2,3]]}},"e":[],"f":{}},{"dup":1,"dup":2," sp ":" v "},` +
			`{"deep":{"a":{"b":{"c":{"d":{"e":1}}}}}}, 7, "str", {"big":123456789012345678901234567890}]`},
		{opts: Options{Format: JSONL}, text: "{\"sku\":\"a\",\"p\":{\"amount\":1,\"currency\":\"EUR\"}}\n  {\"x\": [\"a\", \"b\"]}  \n[1]\n{\"bad\": }\n"},
	},
}

// keyedRecords reads data by NextRaw, RawKey and Finish, and calls each
// with every record keyed by its text: its key (text and context) and its
// Fields as text, or refused when Finish refuses it. It is false when data
// has no reader.
func keyedRecords(data []byte, opts Options, each func(key, fields string, refused bool)) bool {
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return false
	}
	keyer := r.(RawKeyer)
	var fin Finisher
	for {
		raw, err := keyer.NextRaw()
		if _, bad := errors.AsType[*RecordError](err); err != nil && !bad {
			return true // the end, or a broken feed
		}
		if err != nil {
			continue
		}
		if refusedUncut(keyer, raw) {
			continue // refused for its shape, as NextRaw did before it left that to Finish
		}
		text, context, ok := keyer.RawKey(raw)
		if !ok {
			continue // read whole: not keyed by its text
		}
		rec, err := keyer.Finish(raw, &fin)
		var b strings.Builder
		for _, field := range rec.Fields {
			fmt.Fprintf(&b, "%q=%q\n", field.Name, field.Value)
		}
		each(fmt.Sprintf("%q %x", text, context), b.String(), err != nil)
	}
}

// refusedUncut reports whether raw is an uncut CSV row that Finish refuses
// for its number of values or a value over the field bound: rows NextRaw
// refused itself when the digests of TestFinishVersions were recorded.
func refusedUncut(r RawKeyer, raw RawRecord) bool {
	c, ok := r.(*csvReader)
	if !ok || !raw.uncut {
		return false
	}
	raw.ends, raw.uncut = c.cut(raw.text, nil), false
	return c.checkCut(raw) != nil
}

// TestFinishVersions: what Finish makes of the finishFeeds' records is
// what it made when its version was recorded.
func TestFinishVersions(t *testing.T) {
	versions := map[string]string{"xml": xmlFinishVersion, "csv": csvFinishVersion, "json": jsonFinishVersion}
	for kind, feeds := range finishFeeds {
		t.Run(kind, func(t *testing.T) {
			d := xxhash.New()
			var records int
			for _, f := range feeds {
				data := []byte(f.text)
				if f.file != "" {
					data = readFile(t, f.file)
				}
				if !keyedRecords(data, f.opts, func(key, fields string, refused bool) {
					records++
					fmt.Fprintf(d, "%s\n", key)
					if refused {
						fmt.Fprintf(d, "refused\n")
					}
					d.WriteString(fields) //nolint:errcheck // a Digest's Write never fails
				}) {
					fmt.Fprintf(d, "no reader\n")
				}
			}
			if records < 15 {
				t.Fatalf("only %d records keyed by their text: the test reads too little", records)
			}
			recorded := finishVersions[kind]
			last := recorded[len(recorded)-1]
			seen := map[string]bool{}
			for _, v := range recorded {
				if seen[v.version] {
					t.Fatalf("version %s recorded twice", v.version)
				}
				seen[v.version] = true
			}
			if last.version != versions[kind] {
				t.Fatalf("the %s version %s is not the last recorded (%s): add it to finishVersions", kind, versions[kind], last.version)
			}
			if got := fmt.Sprintf("%016x", d.Sum64()); got != last.digest {
				t.Fatalf("Finish makes other Fields of some records than under %s (digest %s, now %s): bump the version and add a line to finishVersions with the new digest",
					last.version, last.digest, got)
			}
		})
	}
}

// TestRawKeyContext: a record's context is the same in any reader with
// the same options and category tree, and differs when either does.
func TestRawKeyContext(t *testing.T) {
	yml := func(cats string) string {
		return `<yml_catalog><shop><categories>` + cats + `</categories><offers><offer id="1"><categoryId>2</categoryId></offer></offers></shop></yml_catalog>`
	}
	first := func(data string, opts Options) (string, uint64, bool) {
		t.Helper()
		r, err := NewReader(strings.NewReader(data), opts)
		if err != nil {
			t.Fatal(err)
		}
		keyer := r.(RawKeyer)
		raw, err := keyer.NextRaw()
		if err != nil {
			t.Fatal(err)
		}
		return keyer.RawKey(raw)
	}
	tree := `<category id="1">A</category><category id="2" parentId="1">B</category>`
	text, base, ok := first(yml(tree), Options{Format: YML})
	if !ok || text != `<offer id="1"><categoryId>2</categoryId></offer>` {
		t.Fatalf("RawKey = %q, %v", text, ok)
	}
	if _, again, _ := first(yml(tree), Options{Format: YML}); again != base {
		t.Fatal("the same feed read again has another context")
	}
	// Category order does not matter to Finish; names and parents do.
	if _, c, _ := first(yml(`<category id="2" parentId="1">B</category><category id="1">A</category>`), Options{Format: YML}); c != base {
		t.Fatal("the same tree in another order has another context")
	}
	for name, c := range map[string]string{
		"renamed":    `<category id="1">A</category><category id="2" parentId="1">C</category>`,
		"reparented": `<category id="1">A</category><category id="2">B</category>`,
		"no tree":    ``,
	} {
		if _, other, _ := first(yml(c), Options{Format: YML}); other == base {
			t.Errorf("%s: same context as the tree it differs from", name)
		}
	}
	if _, other, _ := first(yml(tree), Options{Format: YML, MaxFieldBytes: 100}); other == base {
		t.Error("another bound, same context")
	}
	// CSV: the same values joined, split otherwise.
	_, split1, _ := first("a,b,c\n\"x,y\",z,w\n", Options{Format: CSV})
	if text, split2, _ := first("a,b,c\nx,\"y,z\",w\n", Options{Format: CSV}); text != "x,y,z,w" || split1 == split2 {
		t.Errorf("CSV values split in two ways: text %q, contexts equal %v", text, split1 == split2)
	}
	if _, other, _ := first("a,b,d\n\"x,y\",z,w\n", Options{Format: CSV}); other == split1 {
		t.Error("another CSV header, same context")
	}
	xmlFeed := `<r><item><a>1</a></item></r>`
	_, a, _ := first(xmlFeed, Options{Format: XML, RecordElement: "item"})
	if _, b, _ := first(xmlFeed, Options{Format: XML, RecordPath: "r.item"}); a == b {
		t.Error("another record path, same context")
	}
}

// TestRawKeyReadWhole: a record the cut left to encoding/xml (after a
// declaration switched encodings) has no text key.
func TestRawKeyReadWhole(t *testing.T) {
	r, err := NewReader(strings.NewReader(`<r><?xml version="1.0" encoding="ISO-8859-1"?><item><a>1</a></item></r>`), Options{Format: XML, RecordElement: "item"})
	if err != nil {
		t.Fatal(err)
	}
	keyer := r.(RawKeyer)
	n := 0
	for ; ; n++ {
		raw, err := keyer.NextRaw()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := keyer.RawKey(raw); ok {
			t.Fatal("a record read whole has a text key")
		}
	}
	if n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}
