package gardener

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"contextworker/modules/gardener/enrich"
)

// productDecoder decodes the rows of batchSQL from their wire format,
// without pgx's scan plans: those took a sixth of the worker's time in a
// full run, and allocated each text column, each array and each product
// apart. A row's texts (array elements included) share one string, a
// batch's products, stock values and array slices one allocation each.
// What it makes is what rows.Scan made of the same row (see
// TestDecodeIsScan); a row it does not expect (a NULL where the columns
// refuse one, an infinite time, a type of another wire format) is left to
// rows.Scan, and fails or not as it did.
type productDecoder struct {
	ok       bool // the columns are as batchSQL selects them
	products []enrich.Product
	stocks   []int64
	slices   []string
	buf      []byte
	spans    [batchColumns + 2*maxFastElements]span
}

// span is where a text is in a row's buffer.
type span struct{ from, to int }

// batchColumns is the number of columns of batchSQL; the indexes below
// are theirs.
const (
	colSupplier = iota
	colSKU
	colName
	colDescription
	colBrand
	colGTIN
	colPrice
	colCurrency
	colStock
	colAvailability
	colCategoryPath
	colImageURLs
	colAttributes
	colContentHash
	colLastSeen
	colChanged
	colActivated
	batchColumns
)

// maxFastElements bounds the elements of an array decoded here; a longer
// one is left to rows.Scan.
const maxFastElements = 64

// batchWire is the type and wire format of each column of batchSQL as
// pgx asks for them: texts (text, bpchar) in either format, which agree;
// numbers, times, booleans and arrays binary; jsonb as text.
var batchWire = [batchColumns]struct {
	oids   []uint32
	format int16 // -1: either
}{
	colSupplier: {textOIDs, -1}, colSKU: {textOIDs, -1}, colName: {textOIDs, -1}, colDescription: {textOIDs, -1},
	colBrand: {textOIDs, -1}, colGTIN: {textOIDs, -1}, colPrice: {[]uint32{pgtype.Float8OID}, pgtype.BinaryFormatCode},
	colCurrency: {textOIDs, -1}, colStock: {[]uint32{pgtype.Int8OID}, pgtype.BinaryFormatCode},
	colAvailability: {textOIDs, -1}, colCategoryPath: {[]uint32{pgtype.TextArrayOID}, pgtype.BinaryFormatCode},
	colImageURLs: {[]uint32{pgtype.TextArrayOID}, pgtype.BinaryFormatCode}, colAttributes: {[]uint32{pgtype.JSONBOID}, pgtype.TextFormatCode},
	colContentHash: {textOIDs, -1}, colLastSeen: {[]uint32{pgtype.TimestamptzOID}, pgtype.BinaryFormatCode},
	colChanged: {[]uint32{pgtype.BoolOID}, pgtype.BinaryFormatCode}, colActivated: {[]uint32{pgtype.BoolOID}, pgtype.BinaryFormatCode},
}

var textOIDs = []uint32{pgtype.TextOID, pgtype.BPCharOID, pgtype.VarcharOID}

// textColumns are the columns decoded as strings.
var textColumns = [...]int{colSupplier, colSKU, colName, colDescription, colBrand, colGTIN, colCurrency, colAvailability, colContentHash}

func newProductDecoder(fds []pgconn.FieldDescription, batchSize int) *productDecoder {
	d := &productDecoder{ok: len(fds) == batchColumns}
	for i := 0; d.ok && i < batchColumns; i++ {
		w := batchWire[i]
		d.ok = containsOID(w.oids, fds[i].DataTypeOID) && (w.format < 0 || w.format == fds[i].Format)
	}
	d.products = make([]enrich.Product, 0, batchSize)
	return d
}

func containsOID(oids []uint32, oid uint32) bool {
	for _, o := range oids {
		if o == oid {
			return true
		}
	}
	return false
}

// next returns the product of the current row.
func (d *productDecoder) next(rows pgx.Rows) (*enrich.Product, error) {
	if len(d.products) == cap(d.products) {
		d.products = make([]enrich.Product, 0, max(cap(d.products), 64))
	}
	d.products = d.products[:len(d.products)+1]
	p := &d.products[len(d.products)-1]
	if d.ok && d.decode(rows.RawValues(), p) {
		return p, nil
	}
	*p = enrich.Product{}
	return p, scanProduct(rows, p)
}

// scanProduct is how rows were decoded before productDecoder, and still
// are when it declines a row.
func scanProduct(rows pgx.Rows, p *enrich.Product) error {
	return rows.Scan(&p.SupplierCode, &p.SKU, &p.Name, &p.Description, &p.Brand, &p.GTIN, &p.Price, &p.Currency,
		&p.Stock, &p.Availability, &p.CategoryPath, &p.ImageURLs, &p.Attributes, &p.ContentHash, &p.LastSeen,
		&p.Changed, &p.Activated)
}

// decode fills p from vals; false when the row is one to leave to
// rows.Scan (p may then be partly filled).
func (d *productDecoder) decode(vals [][]byte, p *enrich.Product) bool {
	if len(vals) != batchColumns {
		return false
	}
	// Every text goes into buf, then into one string.
	d.buf = d.buf[:0]
	for _, c := range textColumns {
		if vals[c] == nil {
			return false // NULL: Scan refuses it into a string
		}
		d.spans[c] = d.text(vals[c])
	}
	nCat, ok := d.array(vals[colCategoryPath], d.spans[batchColumns:batchColumns+maxFastElements])
	if !ok {
		return false
	}
	nImg, ok := d.array(vals[colImageURLs], d.spans[batchColumns+maxFastElements:])
	if !ok {
		return false
	}
	price, stock, changed, activated := vals[colPrice], vals[colStock], vals[colChanged], vals[colActivated]
	if len(price) != 8 || stock != nil && len(stock) != 8 || len(changed) != 1 || len(activated) != 1 {
		return false
	}
	lastSeen, ok := timestamptz(vals[colLastSeen])
	if !ok {
		return false
	}
	s := string(d.buf)
	str := func(sp span) string { return s[sp.from:sp.to] }
	p.SupplierCode, p.SKU, p.Name = str(d.spans[colSupplier]), str(d.spans[colSKU]), str(d.spans[colName])
	p.Description, p.Brand, p.GTIN = str(d.spans[colDescription]), str(d.spans[colBrand]), str(d.spans[colGTIN])
	p.Currency, p.Availability, p.ContentHash = str(d.spans[colCurrency]), str(d.spans[colAvailability]), str(d.spans[colContentHash])
	p.Price = math.Float64frombits(binary.BigEndian.Uint64(price))
	if stock != nil {
		if len(d.stocks) == cap(d.stocks) {
			d.stocks = make([]int64, 0, cap(d.products))
		}
		d.stocks = append(d.stocks, int64(binary.BigEndian.Uint64(stock)))
		p.Stock = &d.stocks[len(d.stocks)-1]
	}
	p.CategoryPath = d.strings(s, d.spans[batchColumns:batchColumns+nCat], vals[colCategoryPath] == nil)
	p.ImageURLs = d.strings(s, d.spans[batchColumns+maxFastElements:batchColumns+maxFastElements+nImg], vals[colImageURLs] == nil)
	p.LastSeen = lastSeen
	p.Changed = changed[0] == 1
	p.Activated = activated[0] == 1
	return d.attributes(vals[colAttributes], p)
}

// text appends b to the row's buffer and says where it is.
func (d *productDecoder) text(b []byte) span {
	from := len(d.buf)
	d.buf = append(d.buf, b...)
	return span{from, len(d.buf)}
}

// array appends the elements of a one-dimensional text[] without NULLs
// (binary format) to the row's buffer and records them in spans; false
// for any other array. A NULL array is 0 elements: strings makes it nil.
func (d *productDecoder) array(b []byte, spans []span) (int, bool) {
	if b == nil {
		return 0, true
	}
	if len(b) < 12 {
		return 0, false
	}
	dims, hasNull := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	switch {
	case hasNull != 0 || dims > 1:
		return 0, false
	case dims == 0:
		return 0, len(b) == 12
	}
	if len(b) < 20 {
		return 0, false
	}
	n := int(int32(binary.BigEndian.Uint32(b[12:])))
	if n < 0 || n > len(spans) {
		return 0, false
	}
	b = b[20:]
	for i := range n {
		if len(b) < 4 {
			return 0, false
		}
		l := int(int32(binary.BigEndian.Uint32(b)))
		if l < 0 || l > len(b)-4 {
			return 0, false
		}
		spans[i] = d.text(b[4 : 4+l])
		b = b[4+l:]
	}
	return n, len(b) == 0
}

// strings returns the texts at spans of s, as a slice of the batch's
// slices; nil for a NULL array, as Scan makes it, and empty, not nil, for
// an empty one.
func (d *productDecoder) strings(s string, spans []span, null bool) []string {
	if null {
		return nil
	}
	if d.slices == nil || cap(d.slices)-len(d.slices) < len(spans) {
		d.slices = make([]string, 0, max(4*cap(d.products), len(spans)))
	}
	from := len(d.slices)
	for _, sp := range spans {
		d.slices = append(d.slices, s[sp.from:sp.to])
	}
	return d.slices[from:len(d.slices):len(d.slices)]
}

// attributes decodes the jsonb object (text format) as Scan does: into
// a map of its own, by encoding/json.
func (d *productDecoder) attributes(b []byte, p *enrich.Product) bool {
	switch {
	case b == nil:
		p.Attributes = nil
	case string(b) == "{}":
		p.Attributes = make(map[string]any)
	default:
		if json.Unmarshal(b, &p.Attributes) != nil {
			return false // Scan reports it
		}
	}
	return true
}

// timestamptz decodes a binary timestamptz as pgx does for a time.Time;
// false for infinities and times pgx refuses.
func timestamptz(b []byte) (time.Time, bool) {
	if len(b) != 8 {
		return time.Time{}, false
	}
	const y2k = 946_684_800 * 1_000_000 // microseconds from the Unix epoch to 2000-01-01
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 { // infinity, -infinity
		return time.Time{}, false
	}
	t := time.Unix(y2k/1_000_000+us/1_000_000, (y2k%1_000_000*1_000)+(us%1_000_000*1_000))
	if t.Before(minTime) || !t.Before(endTime) {
		return time.Time{}, false
	}
	return t, true
}

// minTime and endTime bound the times pgx decodes.
var (
	minTime = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)
	endTime = time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)
)
