package gardener

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
)

// TestStoredDecodeIsScan: the stored-row decoder makes of every row of the
// three stored reads what rows.Scan makes of it, over values PostgreSQL
// prints in odd ways (escapes, other scripts, deep nesting, a value of
// 200 KB, numbers), and field names and enrichers repeated across rows.
func TestStoredDecodeIsScan(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	values := []string{
		`true`, `"Bosch"`, `{"key": "bosch", "name": "Bosch"}`, `{"a": [1, 2.50, null, {"b": "\u00e9\"\\\n"}]}`,
		`"日本語 \u2028"`, `12345678901234567890.5`, `[]`, `{}`, `{"x": "` + strings.Repeat("y", 200_000) + `"}`,
	}
	var skus []string
	for i := range 300 {
		sku := fmt.Sprintf("SKU-%04d", i)
		skus = append(skus, sku)
		for j, field := range []string{"brand", "group", "quality.missing_image"} {
			if (i+j)%4 == 0 {
				continue
			}
			if _, err := db.Exec(ctx, `INSERT INTO enrichments (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
				VALUES ('t', $1, $2, $3, $4::jsonb, $5, $6, 'r')`, []string{"s1", "s2"}[i%2], sku, field, values[(i*3+j)%len(values)],
				[]string{"brand", "duplicates", "quality"}[j], fmt.Sprintf("1+%d", i%3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	type row struct {
		k           productKey
		field       string
		value       []byte
		enr, ver    string
		viaDecoder  bool
		description string
	}
	read := func(q string, args []any, decoder bool) []row {
		t.Helper()
		var out []row
		err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, q, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			d := newStoredDecoder(rows.FieldDescriptions())
			if decoder && !d.ok {
				t.Fatalf("the decoder declines the columns of %s", q)
			}
			for rows.Next() {
				var r row
				var prov provenance
				if decoder {
					if err := d.next(rows, &r.k, &r.field, &r.value, &prov); err != nil {
						return err
					}
					r.k = productKey{strings.Clone(r.k.supplier), strings.Clone(r.k.sku)} // valid for the row only
				} else if err := rows.Scan(&r.k.supplier, &r.k.sku, &r.field, &r.value, &prov.enricher, &prov.version); err != nil {
					return err
				}
				r.enr, r.ver = prov.enricher, prov.version
				out = append(out, r)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	suppliers := make([]string, len(skus))
	for i := range skus {
		suppliers[i] = []string{"s1", "s2"}[i%2]
	}
	for _, c := range []struct {
		name string
		q    string
		args []any
	}{
		{"range", storedRangeSQL, []any{"t", []string{"s1", "s2"}, skus[0], skus[len(skus)-1]}},
		{"keys", storedKeysSQL, []any{"t", suppliers, skus}},
		{"supplier keys", storedSupplierKeysSQL, []any{"t", "s1", skus}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, got := read(c.q, c.args, false), read(c.q, c.args, true)
			if len(got) != len(want) || len(want) < 200 {
				t.Fatalf("%d rows decoded, %d scanned (want the same, and many)", len(got), len(want))
			}
			for i := range want {
				w, g := want[i], got[i]
				if g.k != w.k || g.field != w.field || !bytes.Equal(g.value, w.value) || g.enr != w.enr || g.ver != w.ver {
					t.Fatalf("row %d: decoded %v %s %.80s %s %s; scanned %v %s %.80s %s %s", i,
						g.k, g.field, g.value, g.enr, g.ver, w.k, w.field, w.value, w.enr, w.ver)
				}
			}
		})
	}
}
