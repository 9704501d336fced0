package gardener

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/enrichtest"
	wf "contextworker/workflows/gardener"
)

// TestDecodeIsScan: the batch decoder makes of every row what rows.Scan
// makes of it: generated products with oddities, and rows with what
// feeds seldom hold (no stock, empty and long arrays, nested and escaped
// attributes, padded currencies, times far off). Rows it declines go
// through Scan; an infinite time fails as it did.
func TestDecodeIsScan(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	ps, err := enrichtest.Products(3000, 9)
	if err != nil {
		t.Fatal(err)
	}
	enrichtest.AddOddities(ps)
	long := make([]string, 100)
	for i := range long {
		long[i] = fmt.Sprintf("https://img.example/%d.jpg", i)
	}
	odd := []struct {
		stock                *int64
		cats, images         []string
		attrs, cur, lastSeen string
		gtinNull             bool
	}{
		{cats: []string{}, images: []string{}, attrs: `{}`, cur: "EUR", lastSeen: "2026-11-01 12:00:00.123456+00", gtinNull: true},
		{cats: []string{"A", "", "Ü > ö"}, images: long, attrs: `{"a": {"b": [1, 2.5, null, true]}, "c": "x\"y\\\\z\u0001", "d": 1e300}`, cur: "EU", lastSeen: "1900-01-01 00:00:00+00"},
		{cats: []string{"x"}, images: []string{"日本"}, attrs: `{"k": "v", "n": 12345678901234567890, "e": "\u2028"}`, cur: "GBP", lastSeen: "9999-12-31 23:59:59.999999+00"},
		{cats: []string{}, images: []string{}, attrs: `{"": ""}`, cur: "USD", lastSeen: "0001-01-01 00:00:00+00"},
	}
	// PostgreSQL holds valid UTF-8 without NUL only.
	clean := func(s string) string { return strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", "") }
	for i, p := range ps {
		p.Name, p.Description, p.Brand = clean(p.Name), clean(p.Description), clean(p.Brand)
		for k, v := range p.Attributes {
			if s, ok := v.(string); ok {
				p.Attributes[k] = clean(s)
			}
		}
		attrs, _ := json.Marshal(p.Attributes)
		cur, lastSeen, cats, images, stock, gtin := p.Currency, "2026-11-01 12:00:00+00", p.CategoryPath, p.ImageURLs, p.Stock, &p.GTIN
		if i < len(odd) {
			o := odd[i]
			attrs, cur, lastSeen, cats, images, stock = []byte(o.attrs), o.cur, o.lastSeen, o.cats, o.images, o.stock
			if o.gtinNull {
				gtin = nil
			}
		}
		if cats == nil {
			cats = []string{}
		}
		if images == nil {
			images = []string{}
		}
		if _, err := db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, description, brand, gtin, price, currency,
			stock, availability, category_path, image_urls, attributes, content_hash, first_seen, last_seen, last_run_id)
			VALUES ('t', 's', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 'r')`,
			p.SKU, p.Name, p.Description, p.Brand, gtin, p.Price, cur, stock, p.Availability, cats, images, string(attrs),
			p.ContentHash, lastSeen); err != nil {
			t.Fatalf("%s: %v", p.SKU, err)
		}
	}
	plan := wf.Plan{TenantID: "t", BatchSize: 1000, SKUOrder: true}
	// The decoder must take the columns as pgx gets them, or this test
	// compares Scan with itself.
	rows, err := db.Query(ctx, batchOrder(plan), plan.TenantID, plan.SupplierCode, plan.From, false, "", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	d := newProductDecoder(rows.FieldDescriptions(), 1)
	rows.Close()
	if !d.ok {
		t.Fatalf("the decoder declines the columns %+v", rows.FieldDescriptions())
	}
	fast, slow := readAll(t, db, plan, true), readAll(t, db, plan, false)
	if len(fast) != len(ps) || len(slow) != len(ps) {
		t.Fatalf("read %d and %d products, want %d", len(fast), len(slow), len(ps))
	}
	for i := range fast {
		if !reflect.DeepEqual(fast[i], slow[i]) {
			a, b := reflect.ValueOf(*fast[i]), reflect.ValueOf(*slow[i])
			for f := range a.NumField() {
				if a.Type().Field(f).IsExported() && !reflect.DeepEqual(a.Field(f).Interface(), b.Field(f).Interface()) {
					t.Errorf("product %d: %s: decoded %#v, scanned %#v", i, a.Type().Field(f).Name, a.Field(f).Interface(), b.Field(f).Interface())
				}
			}
			t.Fatalf("product %d:\ndecoded %+v\nscanned %+v", i, *fast[i], *slow[i])
		}
	}

	// An infinite time: Scan refuses it, and so does the read.
	if _, err := db.Exec(ctx, `UPDATE products SET last_seen = 'infinity' WHERE sku = $1`, ps[5].SKU); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := readBatchTx(ctx, tx, plan, "", "")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Infinity") {
		t.Fatalf("read of an infinite time: %v", err)
	}
}

// readAll reads the plan's products batch by batch, decoded or scanned.
func readAll(t *testing.T, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, plan wf.Plan, decode bool) []*enrich.Product {
	t.Helper()
	ctx := context.Background()
	var all []*enrich.Product
	supplier, sku := "", ""
	for {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var batch []*enrich.Product
		if decode {
			w, err := readBatchTx(ctx, tx, plan, supplier, sku)
			if err != nil {
				_ = tx.Rollback(ctx)
				t.Fatal(err)
			}
			batch = w.batch
		} else {
			rows, err := tx.Query(ctx, batchOrder(plan), plan.TenantID, plan.SupplierCode, plan.From, len(plan.Stale) > 0,
				supplier, sku, plan.BatchSize)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				p := new(enrich.Product)
				if err := scanProduct(rows, p); err != nil {
					rows.Close()
					_ = tx.Rollback(ctx)
					t.Fatal(err)
				}
				batch = append(batch, p)
			}
			if err := rows.Err(); err != nil {
				_ = tx.Rollback(ctx)
				t.Fatal(err)
			}
		}
		_ = tx.Rollback(ctx)
		if len(batch) == 0 {
			return all
		}
		all = append(all, batch...)
		supplier, sku = batch[len(batch)-1].SupplierCode, batch[len(batch)-1].SKU
	}
}
