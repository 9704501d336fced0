// Package enrichtest makes enrich.Products for tests and benchmarks of the
// enrichers: a feedgen feed read and normalised as a harvest does, each
// valid record turned into the Product the gardener would read back. It is
// test tooling: shipping code must never import it.
package enrichtest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"

	"contextworker/internal/dev/feedgen"
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
	for k, v := range pp.Attributes {
		p.Attributes[k] = v
	}
	return p
}
