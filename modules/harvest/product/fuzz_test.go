package product

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{
		"12.50", "12,50", "1 299,00", "1,299.00", "1.299,00", "$12.50", "12.50 EUR",
		"€ 12,50", "-1", "1e5", "NaN", "99999999999999.9999", "100000000000000",
		"1.12345", "12,-", "1'299", "0.0001", "", ".5", "1\u00a0299", "руб.12",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrNegative) &&
				!errors.Is(err, ErrPrecision) && !errors.Is(err, ErrRange) {
				t.Fatalf("ParseDecimal(%q) error %v wraps no sentinel", s, err)
			}
			return
		}
		if d.units < 0 || d.units > maxDecimalUnits {
			t.Fatalf("ParseDecimal(%q) = %d units, out of range", s, d.units)
		}
		again, err := ParseDecimal(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDecimal(%q) = %s, which reparses as %v, %v", s, d, again, err)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	f.Add("12345", "Phone", "89 990,00", "RUR", "true", "7", "4006381333931",
		"A > B", "https://x.example/p", "https://x.example/1.jpg|https://x.example/2.jpg", "<p>hi</p>", "red", true)
	f.Add("", "", "", "", "", "", "", "", "", "", "", "", false)
	f.Add("A\x00", "\xff\xfe", "1e5", "XXX", "maybe", "-1", "123", "/", "ftp://x", "a,b", "<script>", "\u200b", true)
	f.Fuzz(func(t *testing.T, sku, name, price, currency, avail, stock, gtin, category, url, images, desc, param string, yml bool) {
		rec := record{}
		set := func(k, v string) {
			if v != "" {
				rec[k] = []string{v}
			}
		}
		opts := Options{}
		if yml {
			opts.Format = "yml"
			set("@id", sku)
			set("name", name)
			set("vendor", param)
			set("model", name)
			set("price", price)
			set("currencyId", currency)
			set("@available", avail)
			set("count", stock)
			set("barcode", gtin)
			set("categoryPath", category)
			set("url", url)
			set("picture", images)
			set("description", desc)
			set("param:"+param, param)
		} else {
			set("sku", sku)
			set("name", name)
			set("price", price)
			set("currency", currency)
			set("availability", avail)
			set("stock", stock)
			set("gtin", gtin)
			set("category", category)
			set("url", url)
			set("images", images)
			set("description", desc)
		}
		n, err := NewNormalizer(opts)
		if err != nil {
			t.Fatal(err)
		}
		p, err := n.Normalize(rec)
		if err != nil {
			var r *Reject
			if !errors.As(err, &r) || r.Field == "" || r.Reason == "" {
				t.Fatalf("Normalize error %#v is not a complete *Reject", err)
			}
			return
		}
		checkProduct(t, p)
		if p.Hash() != p.Hash() {
			t.Fatal("Hash is not deterministic")
		}
	})
}

// checkProduct asserts the invariants Normalize promises for a Product.
func checkProduct(t *testing.T, p Product) {
	t.Helper()
	texts := []string{p.SKU, p.Name, p.Description, p.Brand, p.GTIN, p.Currency}
	texts = append(texts, p.CategoryPath...)
	for i, a := range p.Attributes {
		texts = append(texts, a.Key, a.Value)
		if a.Key == "" || a.Value == "" || strings.ToLower(a.Key) != a.Key {
			t.Errorf("bad attribute %q=%q", a.Key, a.Value)
		}
		if i > 0 && p.Attributes[i-1].Key >= a.Key {
			t.Errorf("attributes not sorted, or a key twice: %q before %q", p.Attributes[i-1].Key, a.Key)
		}
	}
	for _, s := range texts {
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8 in %q", s)
		}
		if !norm.NFC.IsNormalString(s) {
			t.Errorf("%q is not in NFC", s)
		}
	}
	for _, s := range append([]string{p.URL}, p.Images...) {
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8 in URL %q", s)
		}
	}
	for _, s := range []string{p.Name, p.Brand, p.Description} {
		if s != strings.TrimSpace(s) || strings.Contains(s, "  ") {
			t.Errorf("whitespace not collapsed in %q", s)
		}
	}
	switch {
	case p.SKU == "" || p.Name == "":
		t.Errorf("empty SKU or Name in %+v", p)
	case utf8.RuneCountInString(p.Name) > MaxNameLen || utf8.RuneCountInString(p.SKU) > MaxSKULen:
		t.Errorf("over-long SKU or Name in %+v", p)
	case !IsCurrency(p.Currency):
		t.Errorf("bad currency %q", p.Currency)
	case p.Stock != nil && *p.Stock < 0:
		t.Errorf("negative stock %d", *p.Stock)
	case p.Availability != InStock && p.Availability != OutOfStock && p.Availability != Preorder && p.Availability != Unknown:
		t.Errorf("bad availability %q", p.Availability)
	case p.GTIN != "":
		if _, reason := normalizeGTIN(p.GTIN); reason != "" {
			t.Errorf("invalid GTIN %q: %s", p.GTIN, reason)
		}
	}
	for _, s := range append(p.CategoryPath, p.Images...) {
		if s == "" || s != strings.TrimSpace(s) {
			t.Errorf("untrimmed or empty element %q", s)
		}
	}
}

// FuzzCheckHTTPURL holds plainHTTPURL, the fast path, to never accept a
// URL that the url.Parse-based check refuses.
func FuzzCheckHTTPURL(f *testing.F) {
	for _, s := range []string{
		"https://x.example/p/1", "http://x.example:8080/a?b=c#d", "HTTP://X.EXAMPLE",
		"https://cdn.example/w_100,h_100/1.jpg", "http://a:", "http://:80/", "http:///p",
		"https://x.example/%zz", "https://x.example/a%20b", "ftp://x", "//x.example/a",
		"http://[::1]/", "http://a/b[1]", "http://a/#x#y", "http://a.b/~u/'q'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainHTTPURL(s) {
			if _, reason := parseHTTPURL(s); reason != "" {
				t.Fatalf("plainHTTPURL(%q) accepts what parseHTTPURL refuses: %s", s, reason)
			}
		}
	})
}
