// Package enrichtest makes enrich.Products for tests and benchmarks of the
// enrichers: a feedgen feed read and normalised as a harvest does, each
// valid record turned into the Product the gardener would read back. It is
// test tooling: shipping code must never import it.
package enrichtest

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"contextworker/internal/dev/feedgen"
	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
)

// Products returns the valid products of a CSV feed of n records generated
// with seed, as a full run reads them (every product changed, nothing
// stored). Bad records (1%, as in the benchmark's feed) are left out.
func Products(n int, seed int64) ([]*enrich.Product, error) {
	var buf bytes.Buffer
	if _, err := feedgen.Write(&buf, feedgen.Options{N: n, Seed: seed, BadShare: 0.01, Format: "csv"}); err != nil {
		return nil, err
	}
	r, err := feed.Open(&buf, feed.Options{Format: feed.CSV})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	norm, err := product.NewNormalizer(product.Options{Format: "csv"})
	if err != nil {
		return nil, err
	}
	seen := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var out []*enrich.Product
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var re *feed.RecordError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pp, err := norm.Normalize(rec)
		if err != nil {
			continue // a bad record: the harvest rejects it
		}
		out = append(out, convert(pp, seen))
	}
}

func convert(pp product.Product, seen time.Time) *enrich.Product {
	price, _ := strconv.ParseFloat(pp.Price.String(), 64)
	p := &enrich.Product{
		SupplierCode: "bench", SKU: pp.SKU, Name: pp.Name, Description: pp.Description, Brand: pp.Brand,
		GTIN: pp.GTIN, Price: price, Currency: pp.Currency, Stock: pp.Stock, Availability: string(pp.Availability),
		CategoryPath: pp.CategoryPath, ImageURLs: pp.Images, ContentHash: "h" + pp.SKU, LastSeen: seen, Changed: true,
	}
	if p.ImageURLs == nil {
		p.ImageURLs = []string{} // image_urls is read through coalesce(…, '{}')
	}
	p.Attributes = make(map[string]any, len(pp.Attributes))
	for _, a := range pp.Attributes {
		p.Attributes[a.Key] = a.Value
	}
	return p
}

// Oddities are texts feeds seldom hold: quantities, sizes, markup, escapes,
// invalid UTF-8, letters that fold specially.
var Oddities = []string{
	"", "500 g", "1,5 kg and 2 l", "12 fl. oz", "0.5 ml", "3 lbs", "Size: 42", "size 10,5", "Größe: 38", "GROESSE 40",
	"XL", "xl", "3XL fits", "<b>Bold</b> & more", "quote \" and \\ backslash", "tab\tnew\nline", "\u2028\u2029",
	"\xff\xfe broken", "Ærø Øst ßtraße", "ſize: 12", "5 \u212a", "Stainless Steel", "wooden", "GRÜN", "grau/gray",
	"1e3 g", "0 g", "999999999 t", "0.000001 mg", "10 gal", "ROBERT BOSCH", "aeg", "McCulloch", "  spaced   out  ",
	"İstanbul ıi", "日本語 テキスト", "emoji 🎉 party", "\x00nul", "1.000,5 kg", "kunststoff/alu", "Ωmega ohm\u2126",
	"AB", "ÉCOLE", "é", "ﬁne print", "a\u00adb", "— dash –", "€ 5,–", "x² ½", "mcDONALD", "Hansen & Co",
}

// AddOddities gives every seventh product an oddity in each of its texts,
// and some an attribute that is not a string, a GTIN with leading zeros,
// no images, stock at zero or a category path of another spelling.
func AddOddities(ps []*enrich.Product) {
	for i, p := range ps {
		if i%7 != 3 {
			continue
		}
		o := func(k int) string { return Oddities[(i/7+k)%len(Oddities)] }
		p.Name += " " + o(0)
		p.Description += " " + o(1)
		if i%2 == 0 {
			p.Brand = o(2)
		}
		p.Attributes["weight"] = o(3)
		if i%3 == 0 {
			p.Attributes["n"] = float64(i) / 8 // not a string: printed with %v
			p.GTIN = "000" + strings.TrimLeft(p.GTIN, "0")
		}
		if i%5 == 0 {
			p.ImageURLs = nil
			z := int64(0)
			p.Stock = &z
		}
		if i%11 == 0 {
			p.CategoryPath = []string{"Electronics", "Phone"}
		}
	}
}

// OddProducts is Products with AddOddities, for a test: it fails tb on an
// error.
func OddProducts(tb testing.TB, n int, seed int64) []*enrich.Product {
	tb.Helper()
	ps, err := Products(n, seed)
	if err != nil {
		tb.Fatal(err)
	}
	AddOddities(ps)
	return ps
}

// Columns are the product columns an enrich.Product holds, one bit each:
// those Mutate can change.
var Columns = []prodfields.Set{
	prodfields.Name, prodfields.Description, prodfields.Brand, prodfields.GTIN, prodfields.Price,
	prodfields.Currency, prodfields.Stock, prodfields.Availability, prodfields.CategoryPath,
	prodfields.ImageURLs, prodfields.Attributes,
}

// Mutate gives p's column col (one of Columns) another product's value
// (q's, or a made-up one where q's is the same), as a re-harvest that
// changed that column alone would. It reports false for a column a
// Product does not hold.
func Mutate(p, q *enrich.Product, col prodfields.Set) bool {
	other := func(a, b, fallback string) string {
		if a != b {
			return b
		}
		return a + fallback
	}
	switch col {
	case prodfields.Name:
		p.Name = other(p.Name, q.Name, " II")
	case prodfields.Description:
		p.Description = other(p.Description, q.Description, " Now in red, 500 g.")
	case prodfields.Brand:
		p.Brand = other(p.Brand, q.Brand, "x")
	case prodfields.GTIN:
		p.GTIN = other(p.GTIN, q.GTIN, "1")
	case prodfields.Price:
		p.Price = q.Price*3 + 1
	case prodfields.Currency:
		p.Currency = toggle(p.Currency, "USD", "EUR")
	case prodfields.Stock:
		v := int64(0)
		if p.Stock != nil && *p.Stock == 0 {
			v = 7
		}
		p.Stock = &v
	case prodfields.Availability:
		p.Availability = toggle(p.Availability, "out_of_stock", "in_stock")
	case prodfields.CategoryPath:
		p.CategoryPath = append(slices.Clone(q.CategoryPath), "Extra")
	case prodfields.ImageURLs:
		if len(p.ImageURLs) > 0 {
			p.ImageURLs = nil
		} else {
			p.ImageURLs = []string{"https://img.example/x.jpg"}
		}
	case prodfields.Attributes:
		a := maps.Clone(q.Attributes)
		if a == nil {
			a = map[string]any{}
		}
		a["colour"], a["size"] = "green", "XL"
		p.Attributes = a
	default:
		return false
	}
	return true
}

// toggle returns a unless s is a, then b.
func toggle(s, a, b string) string {
	if s == a {
		return b
	}
	return a
}
