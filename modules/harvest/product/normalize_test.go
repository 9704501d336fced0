package product

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// goldenCase is a testdata/*.json file: options and a record.
type goldenCase struct {
	Options Options
	Record  record
}

// TestNormalizeGolden normalises each testdata/*.json case and compares the
// Product, and its hash, with the matching .golden.json file.
func TestNormalizeGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".golden.json") })
	if len(files) == 0 {
		t.Fatal("no testdata cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			p, err := newNormalizer(t, c.Options).Normalize(c.Record)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			got, err := json.MarshalIndent(struct {
				Product Product
				Hash    string
			}{p, p.Hash()}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Normalize(%s) differs from %s:\ngot:\n%s\nwant:\n%s", file, golden, got, want)
			}
		})
	}
}

func TestNormalizeYMLOffer(t *testing.T) {
	n := newNormalizer(t, Options{Format: "yml"})
	p, err := n.Normalize(ymlOffer())
	if err != nil {
		t.Fatal(err)
	}
	stock := int64(7)
	want := Product{
		SKU:          "12345",
		Name:         "Смартфон Apple iPhone 15 128GB",
		Description:  "Новый iPhone 15. Гарантия 1 год.",
		Brand:        "Apple",
		GTIN:         "4006381333931",
		Price:        Decimal{units: 89990 * decimalScale},
		Currency:     "RUB",
		Stock:        &stock,
		Availability: InStock,
		CategoryPath: []string{"Электроника", "Телефоны", "Смартфоны"},
		URL:          "https://shop.example/p/12345",
		Images:       []string{"https://img.example/1.jpg", "https://img.example/2.jpg"},
		Attributes:   Attributes{{"color", "чёрный"}, {"weight", "171 g"}},
	}
	if got, want := p.Hash(), want.Hash(); got != want {
		t.Errorf("Normalize(yml offer) =\n%+v\nwant\n%+v", p, want)
	}
}

// TestNormalizeRejects covers every reason a record is refused.
func TestNormalizeRejects(t *testing.T) {
	good := record{"sku": {"A1"}, "name": {"Thing"}, "price": {"10"}, "currency": {"EUR"}}
	tests := []struct {
		name string
		rec  Source
		want string
	}{
		{"nil record", nil, "record: is nil"},
		{"sku missing", good.with("sku"), "sku: missing"},
		{"sku blank", good.with("sku", " \t"), "sku: missing"},
		{"sku invalid UTF-8", good.with("sku", "A\xff1"), `sku: "A\xff1" is not valid UTF-8`},
		{"sku control character", good.with("sku", "A\x071"), `sku: "A\a1" contains control character U+0007`},
		{"sku too long", good.with("sku", strings.Repeat("s", MaxSKULen+1)), `sku: "` + strings.Repeat("s", maxQuoted) + `…" is longer than 128 characters`},
		{"name missing", good.with("name"), "name: missing"},
		{"name only whitespace", good.with("name", "\u00a0\n"), "name: missing"},
		{"gtin check digit", good.with("gtin", "4006381333937"), "gtin: check digit is 7, want 1"},
		{"gtin length", good.with("gtin", "12345"), `gtin: "12345" has 5 digits, want 8, 12, 13 or 14`},
		{"gtin letters", good.with("gtin", "ABC"), `gtin: "ABC" contains a character other than digits, spaces and dashes`},
		{"gtin zeros", good.with("gtin", "00000000"), `gtin: "00000000" is all zeros`},
		{"price missing", good.with("price"), "price: missing"},
		{"price not a number", good.with("price", "12,3,4"), `price: "12,3,4" is not a number`},
		{"price word", good.with("price", "call us"), `price: "call us" is not a number`},
		{"price negative", good.with("price", "-5"), `price: "-5" is negative`},
		{"price precision", good.with("price", "1.00001"), `price: "1.00001" has more than 4 fraction digits`},
		{"price overflow", good.with("price", "1000000000000000"), `price: "1000000000000000" is larger than 99999999999999.9999`},
		{"price exponent", good.with("price", "1e5"), `price: "1e5" is not a number: exponent notation is not allowed`},
		{"price unknown currency", good.with("price", "12 ABC"), `price: "12 ABC" names unknown currency "ABC"`},
		{"price two currencies", good.with("price", "$12 EUR"), `price: "$12 EUR" names two currencies, USD and EUR`},
		{"currency missing", good.with("currency"), "currency: missing"},
		{"currency unknown", good.with("currency", "EURO"), `currency: "EURO" is not an active ISO 4217 code`},
		{"stock negative", good.with("stock", "-1"), `stock: "-1" is negative`},
		{"stock word", good.with("stock", "lots"), `stock: "lots" is not an integer`},
		{"stock fraction", good.with("stock", "1.5"), `stock: "1.5" is not a whole number`},
		{"stock too large", good.with("stock", "9223372036854775808"), `stock: "9223372036854775808" is too large`},
		{"availability unknown", good.with("availability", "maybe"), `availability: "maybe" is not an availability (want in_stock, out_of_stock or preorder)`},
		{"url relative", good.with("url", "/p/1"), `url: "/p/1" is not an http(s) URL`},
		{"url scheme", good.with("url", "ftp://x.example/p"), `url: "ftp://x.example/p" is not an http(s) URL`},
		{"url without host", good.with("url", "http:///p"), `url: "http:///p" is not an http(s) URL`},
		{"url opaque", good.with("url", "http:example.com"), `url: "http:example.com" is not an http(s) URL`},
		{"url invalid UTF-8", good.with("url", "http://x.example/\xff"), `url: "http://x.example/\xff" is not valid UTF-8`},
		{"url too long", good.with("url", "https://x.example/"+strings.Repeat("a", MaxURLLen)), "url: \"https://x.example/" + strings.Repeat("a", maxQuoted-18) + "…\" is longer than 2048 bytes"},
		{"image scheme", good.with("images", "https://x.example/1.jpg", "https://x.example/2.jpg", "ftp://x"), `images[2]: "ftp://x" is not an http(s) URL`},
		{"image relative inside list", good.with("images", "https://x.example/1.jpg | /2.jpg"), `images[1]: "/2.jpg" is not an http(s) URL`},
	}
	n := newNormalizer(t, Options{Format: "csv"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := n.Normalize(tt.rec)
			var r *Reject
			if !errors.As(err, &r) {
				t.Fatalf("Normalize = %+v, %v; want *Reject %s", p, err, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Normalize error\n got: %s\nwant: %s", err, tt.want)
			}
			if field, _, _ := strings.Cut(tt.want, ":"); r.Field != field {
				t.Errorf("Reject.Field = %q, want %q", r.Field, field)
			}
		})
	}
}

func TestAvailability(t *testing.T) {
	stock := func(v int64) *int64 { return &v }
	tests := []struct {
		name  string
		in    string
		stock *int64
		want  Availability
	}{
		{"true", "true", nil, InStock},
		{"TRUE", " TRUE ", nil, InStock},
		{"yes", "yes", nil, InStock},
		{"1", "1", nil, InStock},
		{"in stock", "in stock", nil, InStock},
		{"In Stock", "In Stock", nil, InStock},
		{"instock", "instock", nil, InStock},
		{"in_stock", "in_stock", nil, InStock},
		{"available", "available", nil, InStock},
		{"russian in stock", "В наличии", nil, InStock},
		{"schema.org", "https://schema.org/InStock", nil, InStock},
		{"false", "false", nil, OutOfStock},
		{"no", "no", nil, OutOfStock},
		{"0", "0", nil, OutOfStock},
		{"out of stock", "out of stock", nil, OutOfStock},
		{"out_of_stock", "out_of_stock", nil, OutOfStock},
		{"oos", "OOS", nil, OutOfStock},
		{"field wins over stock", "false", stock(5), OutOfStock},
		{"preorder", "preorder", nil, Preorder},
		{"pre-order", "pre-order", nil, Preorder},
		{"backorder", "backorder", nil, Preorder},
		{"schema.org preorder", "http://schema.org/PreOrder", nil, Preorder},
		{"empty, stock unknown", "", nil, Unknown},
		{"empty, stock positive", "", stock(3), InStock},
		{"empty, stock zero", "", stock(0), OutOfStock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := parseAvailability(tt.in, tt.stock)
			if got != tt.want || reason != "" {
				t.Errorf("parseAvailability(%q) = %q, %q; want %q", tt.in, got, reason, tt.want)
			}
		})
	}
}

func TestStock(t *testing.T) {
	tests := []struct {
		name, in   string
		want       int64
		wantReason string
	}{
		{"integer", "12", 12, ""},
		{"zero fraction", "12.0", 12, ""},
		{"comma zero fraction", "12,00", 12, ""},
		{"plus", "+3", 3, ""},
		{"zero", "0", 0, ""},
		{"max int64", "9223372036854775807", 1<<63 - 1, ""},
		{"negative", "-1", 0, `"-1" is negative`},
		{"word", "lots", 0, `"lots" is not an integer`},
		{"fraction", "2.5", 0, `"2.5" is not a whole number`},
		{"bad fraction", "2.x", 0, `"2.x" is not an integer`},
		{"only fraction", ".0", 0, `".0" is not an integer`},
		{"overflow", "99999999999999999999", 0, `"99999999999999999999" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := parseStock(tt.in)
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("parseStock(%q) = %d, %q; want %d, %q", tt.in, got, reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestURLsAndImages(t *testing.T) {
	base := record{"sku": {"A1"}, "name": {"Thing"}, "price": {"10 EUR"}}
	tests := []struct {
		name       string
		url        []string
		images     []string
		wantURL    string
		wantImages []string
	}{
		{"none", nil, nil, "", nil},
		{"plain", []string{"https://x.example/p/1"}, []string{"http://x.example/1.jpg"}, "https://x.example/p/1", []string{"http://x.example/1.jpg"}},
		{"upper-case scheme", []string{"HTTPS://x.example/p"}, nil, "HTTPS://x.example/p", nil},
		{"space in url encoded", []string{" https://x.example/a b "}, nil, "https://x.example/a%20b", nil},
		{"repeated field", nil, []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}, "", []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}},
		{"duplicates dropped, order kept", nil, []string{"https://x.example/2.jpg", "https://x.example/1.jpg", "https://x.example/2.jpg"}, "", []string{"https://x.example/2.jpg", "https://x.example/1.jpg"}},
		{"pipe separated", nil, []string{"https://x.example/1.jpg|https://x.example/2.jpg"}, "", []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}},
		{"comma separated", nil, []string{"https://x.example/1.jpg, https://x.example/2.jpg,https://x.example/3.jpg"}, "", []string{"https://x.example/1.jpg", "https://x.example/2.jpg", "https://x.example/3.jpg"}},
		{"whitespace separated", nil, []string{"https://x.example/1.jpg\nhttps://x.example/2.jpg"}, "", []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}},
		{"comma inside CDN url kept", nil, []string{"https://cdn.example/w_100,h_100/1.jpg,https://cdn.example/2.jpg"}, "", []string{"https://cdn.example/w_100,h_100/1.jpg", "https://cdn.example/2.jpg"}},
		{"empty values ignored", nil, []string{"", " | ,"}, "", nil},
		{"leading and trailing commas", nil, []string{",https://x.example/1.jpg,,https://x.example/2.jpg,"}, "", []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}},
		{"many duplicates", nil, []string{strings.Repeat("https://x.example/1.jpg ", 40) + "https://x.example/2.jpg"}, "", []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}},
	}
	n := newNormalizer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := base.with("url", tt.url...).with("images", tt.images...)
			p, err := n.Normalize(rec)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if p.URL != tt.wantURL || !slices.Equal(p.Images, tt.wantImages) {
				t.Errorf("URL, Images = %q, %q; want %q, %q", p.URL, p.Images, tt.wantURL, tt.wantImages)
			}
		})
	}
}

func TestSplitCategory(t *testing.T) {
	tests := []struct {
		name, in, sep string
		want          []string
	}{
		{"yml path", "Электроника > Телефоны > Смартфоны", "", []string{"Электроника", "Телефоны", "Смартфоны"}},
		{"tight angle", "A>B>C", "", []string{"A", "B", "C"}},
		{"slash", "Home/Garden/Tools", "", []string{"Home", "Garden", "Tools"}},
		{"angle wins over slash", "Electronics > TV/Video", "", []string{"Electronics", "TV/Video"}},
		{"pipe", "A | B", "", []string{"A", "B"}},
		{"single level", "  Tools  ", "", []string{"Tools"}},
		{"empty segments dropped", " > A >> B > ", "", []string{"A", "B"}},
		{"whitespace collapsed", "Home   and\tGarden > Tools", "", []string{"Home and Garden", "Tools"}},
		{"custom separator", "A > B ;; C/D", ";;", []string{"A > B", "C/D"}},
		{"empty", "", "", nil},
		{"only separators", " / / ", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitCategory(tt.in, tt.sep); !slices.Equal(got, tt.want) {
				t.Errorf("splitCategory(%q, %q) = %q, want %q", tt.in, tt.sep, got, tt.want)
			}
		})
	}
}

func TestNormalizeText(t *testing.T) {
	base := record{"sku": {"A1"}, "price": {"10 EUR"}}
	long := strings.Repeat("я", MaxNameLen+5)
	tests := []struct {
		name      string
		rec       record
		check     func(Product) bool
		wantField string
	}{
		{"name collapsed", base.with("name", "  Big \n red   hammer "), func(p Product) bool { return p.Name == "Big red hammer" }, "Name"},
		{"name truncated", base.with("name", long), func(p Product) bool { return p.Name == long[:2*MaxNameLen] }, "Name"},
		{"brand collapsed", base.with("name", "x").with("brand", " ACME \t Corp "), func(p Product) bool { return p.Brand == "ACME Corp" }, "Brand"},
		{"description html", base.with("name", "x").with("description", "<ul><li>Steel</li><li>Oak&nbsp;handle</li></ul>"), func(p Product) bool { return p.Description == "Steel Oak handle" }, "Description"},
		{"description truncated", base.with("name", "x").with("description", strings.Repeat("ab ", MaxDescriptionLen)), func(p Product) bool {
			return len([]rune(p.Description)) <= MaxDescriptionLen && strings.HasPrefix(p.Description, "ab ab")
		}, "Description"},
		{"sku internal spaces kept", base.with("name", "x").with("sku", " A  1 "), func(p Product) bool { return p.SKU == "A  1" }, "SKU"},
		{"gtin dashes stripped", base.with("name", "x").with("gtin", "0-36000-29145-2"), func(p Product) bool { return p.GTIN == "036000291452" }, "GTIN"},
	}
	n := newNormalizer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := n.Normalize(tt.rec)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if !tt.check(p) {
				t.Errorf("unexpected %s in %+v", tt.wantField, p)
			}
		})
	}
}

func TestNormalizeYMLConventions(t *testing.T) {
	tests := []struct {
		name      string
		rec       record
		wantName  string
		wantStock int64 // -1 = nil
		wantAttrs map[string]string
	}{
		{"vendor.model name", ymlOffer().with("name").with("typePrefix", "Смартфон").with("model", "iPhone 15"), "Смартфон Apple iPhone 15", 7, nil},
		{"vendor.model without type prefix", ymlOffer().with("name").with("model", "iPhone 15"), "Apple iPhone 15", 7, nil},
		{"stock field fallback", ymlOffer().with("count").with("stock", "4"), "Смартфон Apple iPhone 15 128GB", 4, nil},
		{"no stock", ymlOffer().with("count"), "Смартфон Apple iPhone 15 128GB", -1, nil},
		{"params", ymlOffer().with("param: Screen Size ", "6.1\"").with("param:COLOR", "black").with("param:Empty", " "), "Смартфон Apple iPhone 15 128GB", 7,
			// "param:COLOR" sorts before "param:Color" in the test Source.
			map[string]string{"color": "black, чёрный", "weight": "171 g", "screen size": "6.1\""}},
		{"repeated param joined", ymlOffer().with("param:Color", "red", "blue", "red"), "Смартфон Apple iPhone 15 128GB", 7, map[string]string{"color": "red, blue", "weight": "171 g"}},
	}
	n := newNormalizer(t, Options{Format: "yml"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := n.Normalize(tt.rec)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if p.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", p.Name, tt.wantName)
			}
			if (p.Stock == nil) != (tt.wantStock < 0) || p.Stock != nil && *p.Stock != tt.wantStock {
				t.Errorf("Stock = %v, want %d", p.Stock, tt.wantStock)
			}
			if tt.wantAttrs != nil && !maps.Equal(p.Attributes.Map(), tt.wantAttrs) {
				t.Errorf("Attributes = %q, want %q", p.Attributes, tt.wantAttrs)
			}
		})
	}

	t.Run("params ignored outside yml", func(t *testing.T) {
		p, err := newNormalizer(t, Options{}).Normalize(record{"sku": {"1"}, "name": {"x"}, "price": {"1 EUR"}, "param:Color": {"red"}})
		if err != nil || p.Attributes != nil {
			t.Fatalf("Normalize = %v, %v; want no attributes", p.Attributes, err)
		}
	})
	t.Run("mapped attribute wins over param", func(t *testing.T) {
		n := newNormalizer(t, Options{Format: "yml", Mapping: Mapping{"attributes.color": "vendorCode"}})
		p, err := n.Normalize(ymlOffer())
		if err != nil || p.Attributes.Get("color") != "MTP03" {
			t.Fatalf("Normalize = %v, %v; want color from vendorCode", p.Attributes, err)
		}
	})
}

// TestNormalizeLargeInputs feeds records built to trigger quadratic
// behaviour. Linear code handles each in milliseconds; quadratic code would
// not finish within the test timeout.
func TestNormalizeLargeInputs(t *testing.T) {
	const size = 1 << 20
	base := ymlOffer()
	many := func(n int, v func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v(i)
		}
		return out
	}
	tests := []struct {
		name  string
		rec   record
		check func(Product) bool
	}{
		{"comma run in images", base.with("picture", "https://x.example/1.jpg"+strings.Repeat(",", size)),
			func(p Product) bool { return slices.Equal(p.Images, []string{"https://x.example/1.jpg"}) }},
		{"many images", base.with("picture", many(50000, func(i int) string { return "https://x.example/" + strings.Repeat("a", i%100) })...),
			func(p Product) bool { return len(p.Images) == 100 }},
		{"many param values", base.with("param:Size", many(100000, func(i int) string { return strings.Repeat("s", i%300) })...),
			func(p Product) bool { return len([]rune(p.Attributes.Get("size"))) <= MaxAttributeLen }},
		{"many params", func() record {
			r := base.with("vendorCode") // a copy
			for i := range 20000 {
				r["param:p"+strings.Repeat("x", i%50)+string(rune('a'+i%26))] = []string{"v"}
			}
			return r
		}(), func(p Product) bool { return len(p.Attributes) > 26 }},
		{"huge description", base.with("description", strings.Repeat("<p>ab &amp; <script>x</script>", size/32)),
			func(p Product) bool { return len([]rune(p.Description)) <= MaxDescriptionLen }},
		{"unclosed tags", base.with("description", strings.Repeat("<a b='", size/6)),
			func(p Product) bool { return len([]rune(p.Description)) <= MaxDescriptionLen }},
		{"huge name", base.with("name", strings.Repeat("я ", size)),
			func(p Product) bool { return len([]rune(p.Name)) == MaxNameLen-1 }},
	}
	n := newNormalizer(t, Options{Format: "yml"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := n.Normalize(tt.rec)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if !tt.check(p) {
				t.Errorf("unexpected result: %d images, %d attributes, name %d bytes", len(p.Images), len(p.Attributes), len(p.Name))
			}
		})
	}
}

func TestJoinValue(t *testing.T) {
	long := strings.Repeat("x", utf8.UTFMax*MaxAttributeLen+1)
	tests := []struct {
		name, cur, v, want string
	}{
		{"first", "", "red", "red"},
		{"second", "red", "blue", "red, blue"},
		{"repeat", "red, blue", "blue", "red, blue"},
		{"prefix is not a repeat", "red, blue", "blu", "red, blue, blu"},
		{"full", long, "y", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinValue(tt.cur, tt.v); got != tt.want {
				t.Errorf("joinValue(%q, %q) = %q, want %q", tt.cur, tt.v, got, tt.want)
			}
		})
	}
}

// TestMakesAttributes: only an attribute mapping or YML's params can give
// a Product attributes; without them no record gets any, whatever fields
// it holds (a loader then leaves the column to its default).
func TestMakesAttributes(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want bool
	}{
		{Options{Format: "csv"}, false},
		{Options{Format: "json"}, false},
		{Options{Format: "xml"}, false},
		{Options{Format: "csv", Mapping: Mapping{"attributes.colour": "color"}}, true},
		{Options{Format: "yml"}, true},
	} {
		n := newNormalizer(t, tc.opts)
		if got := n.MakesAttributes(); got != tc.want {
			t.Errorf("%+v: MakesAttributes = %v, want %v", tc.opts, got, tc.want)
		}
		p, err := n.Normalize(record{"sku": {"S"}, "@id": {"S"}, "name": {"n"}, "price": {"1.00"}, "currency": {"EUR"}, "currencyId": {"EUR"},
			"color": {"red"}, "param_color": {"red"}, "param": {"red"}, "attributes.colour": {"red"}, "colour": {"red"}})
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want && p.Attributes != nil {
			t.Errorf("%+v: says it makes no attributes, but made %v", tc.opts, p.Attributes)
		}
		if tc.want && tc.opts.Format == "csv" && p.Attributes.Get("colour") != "red" {
			t.Errorf("%+v: attributes %v, want colour=red", tc.opts, p.Attributes)
		}
	}
}
