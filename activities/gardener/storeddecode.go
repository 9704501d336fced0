package gardener

import (
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// storedDecoder decodes the rows of the stored reads (storedRangeSQL,
// storedKeysSQL, storedSupplierKeysSQL: supplier_code, sku, field, value,
// enricher, enricher_version) from their wire format. An incremental run
// reads two or three stored fields for each product it reads, and pgx's
// scan plans allocated each of their six columns: a tenth of its worker's
// time. Field names, enrichers and versions are few, and interned; values
// share one allocation for many rows. What it makes is what rows.Scan
// makes of the row (TestStoredDecodeIsScan); a row it does not expect is
// left to rows.Scan.
type storedDecoder struct {
	ok bool // the columns are texts and a jsonb, as the reads select them
	// jsonbBinary is jsonb's wire format: binary prefixes the text with a
	// version byte.
	jsonbBinary bool
	intern      map[string]string
	slab        []byte
}

// maxInterned bounds the distinct strings a decoder keeps; past it, each
// is allocated.
const maxInterned = 1024

func newStoredDecoder(fds []pgconn.FieldDescription) *storedDecoder {
	d := &storedDecoder{ok: len(fds) == 6, intern: make(map[string]string, 16)}
	for i := 0; d.ok && i < len(fds); i++ {
		if i == 3 {
			d.ok = fds[i].DataTypeOID == pgtype.JSONBOID
			d.jsonbBinary = fds[i].Format == pgtype.BinaryFormatCode
			continue
		}
		d.ok = containsOID(textOIDs, fds[i].DataTypeOID)
	}
	return d
}

// next decodes the current row. k's strings are valid until the next
// row only: they are for looking up the product, not for keeping.
func (d *storedDecoder) next(rows pgx.Rows, k *productKey, field *string, value *[]byte, prov *provenance) error {
	if d.ok && d.decode(rows.RawValues(), k, field, value, prov) {
		return nil
	}
	*value = nil // a scanner may reuse the slice it filled: each row gets its own
	return rows.Scan(&k.supplier, &k.sku, field, value, &prov.enricher, &prov.version)
}

func (d *storedDecoder) decode(vals [][]byte, k *productKey, field *string, value *[]byte, prov *provenance) bool {
	if len(vals) != 6 {
		return false
	}
	for _, v := range vals {
		if v == nil {
			return false // NULL: Scan refuses it into a string, and says so
		}
	}
	v := vals[3]
	if d.jsonbBinary {
		if len(v) == 0 || v[0] != 1 {
			return false
		}
		v = v[1:]
	}
	k.supplier = unsafe.String(unsafe.SliceData(vals[0]), len(vals[0]))
	k.sku = unsafe.String(unsafe.SliceData(vals[1]), len(vals[1]))
	*field = d.str(vals[2])
	prov.enricher, prov.version = d.str(vals[4]), d.str(vals[5])
	if cap(d.slab)-len(d.slab) < len(v) {
		d.slab = make([]byte, 0, max(64<<10, len(v)))
	}
	from := len(d.slab)
	d.slab = append(d.slab, v...)
	*value = d.slab[from:len(d.slab):len(d.slab)]
	return true
}

// str returns b as a string, interned.
func (d *storedDecoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s
}
