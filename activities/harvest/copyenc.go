package harvest

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"contextworker/modules/harvest/product"
)

// Rows reach PostgreSQL as COPY … (FORMAT binary) tuples that the
// normalising workers encode, in parallel, straight from products. pgx's
// generic CopyFrom did the same from []any on the one goroutine per
// connection, looking up an encode plan per value: 30% of the worker's CPU
// in a first load of 1M products.

// copyHeader starts a binary COPY stream: signature, flags, no extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyTrailer ends it.
var copyTrailer = []byte{0xff, 0xff}

// textOID is the element type of text[].
const textOID = 25

// tuple appends binary COPY fields to a row.
type tuple []byte

// begin starts a row of fields fields at the end of t.
func (t tuple) begin(fields int) tuple { return binary.BigEndian.AppendUint16(t, uint16(fields)) }

func (t tuple) null() tuple { return binary.BigEndian.AppendUint32(t, 0xffffffff) }

func (t tuple) int8(v int64) tuple {
	t = binary.BigEndian.AppendUint32(t, 8)
	return binary.BigEndian.AppendUint64(t, uint64(v))
}

func (t tuple) int4(v int32) tuple {
	t = binary.BigEndian.AppendUint32(t, 4)
	return binary.BigEndian.AppendUint32(t, uint32(v))
}

func (t tuple) bool(v bool) tuple {
	t = binary.BigEndian.AppendUint32(t, 1)
	if v {
		return append(t, 1)
	}
	return append(t, 0)
}

func (t tuple) text(s string) tuple {
	t = binary.BigEndian.AppendUint32(t, uint32(len(s)))
	return append(t, s...)
}

func (t tuple) textBytes(b []byte) tuple {
	t = binary.BigEndian.AppendUint32(t, uint32(len(b)))
	return append(t, b...)
}

// textOrNull is NULL for "".
func (t tuple) textOrNull(s string) tuple {
	if s == "" {
		return t.null()
	}
	return t.text(s)
}

func (t tuple) int8OrNull(v *int64) tuple {
	if v == nil {
		return t.null()
	}
	return t.int8(*v)
}

// numeric4 is a numeric with scale 4 given in 1e-4 units (non-negative):
// base-10000 digits, the last one the fraction.
func (t tuple) numeric4(units int64) tuple {
	var digits [6]uint16 // 18 integer digits at most: 5 groups, plus the fraction
	n := 0
	frac := uint16(units % 10000)
	for ip := units / 10000; ip > 0; ip /= 10000 {
		digits[n] = uint16(ip % 10000)
		n++
	}
	weight := n - 1
	// integer groups were collected least significant first
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		digits[i], digits[j] = digits[j], digits[i]
	}
	if frac != 0 {
		digits[n] = frac
		n++
	}
	if n == 0 {
		weight = 0
	}
	t = binary.BigEndian.AppendUint32(t, uint32(8+2*n))
	t = binary.BigEndian.AppendUint16(t, uint16(n))
	t = binary.BigEndian.AppendUint16(t, uint16(int16(weight)))
	t = binary.BigEndian.AppendUint16(t, 0) // sign: positive
	t = binary.BigEndian.AppendUint16(t, 4) // dscale
	for _, d := range digits[:n] {
		t = binary.BigEndian.AppendUint16(t, d)
	}
	return t
}

// textArray is a one-dimensional text[] ('{}' when empty).
func (t tuple) textArray(a []string) tuple {
	size := 12
	if len(a) > 0 {
		size += 8
	}
	for _, s := range a {
		size += 4 + len(s)
	}
	t = binary.BigEndian.AppendUint32(t, uint32(size))
	if len(a) == 0 {
		t = binary.BigEndian.AppendUint32(t, 0) // dimensions
		t = binary.BigEndian.AppendUint32(t, 0) // no nulls
		return binary.BigEndian.AppendUint32(t, textOID)
	}
	t = binary.BigEndian.AppendUint32(t, 1)
	t = binary.BigEndian.AppendUint32(t, 0)
	t = binary.BigEndian.AppendUint32(t, textOID)
	t = binary.BigEndian.AppendUint32(t, uint32(len(a)))
	t = binary.BigEndian.AppendUint32(t, 1) // lower bound
	for _, s := range a {
		t = t.text(s)
	}
	return t
}

// textArrayOrNull is NULL for an empty array.
func (t tuple) textArrayOrNull(a []string) tuple {
	if len(a) == 0 {
		return t.null()
	}
	return t.textArray(a)
}

// jsonb is a JSON object of string values (version 1 text format).
func (t tuple) jsonb(attrs product.Attributes) tuple {
	at := len(t)
	t = binary.BigEndian.AppendUint32(t, 0) // length, set below
	t = append(t, 1, '{')
	for i, a := range attrs { // jsonb orders keys itself
		if i > 0 {
			t = append(t, ',')
		}
		t = appendJSONString(t, a.Key)
		t = append(t, ':')
		t = appendJSONString(t, a.Value)
	}
	t = append(t, '}')
	binary.BigEndian.PutUint32(t[at:], uint32(len(t)-at-4))
	return t
}

func (t tuple) jsonbOrNull(attrs product.Attributes) tuple {
	if len(attrs) == 0 {
		return t.null()
	}
	return t.jsonb(attrs)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(t tuple, s string) tuple {
	t = append(t, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				t = append(t, '\\', c)
			case c < 0x20:
				t = append(t, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				t = append(t, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			t = append(t, "\ufffd"...)
		} else {
			t = append(t, s[i:i+size]...)
		}
		i += size
	}
	return append(t, '"')
}

// loadTuple appends a first load's row (loadColumnsOf(attributes)) to t.
func loadTuple(t tuple, row int64, p *product.Product, hash []byte, source uint64, attributes bool) tuple {
	fields := len(loadColumns)
	if !attributes {
		fields--
	}
	t = t.begin(fields).int8(row).text(p.SKU).text(p.Name).text(p.Description).text(p.Brand).textOrNull(p.GTIN).
		numeric4(p.Price.Units()).text(p.Currency).int8OrNull(p.Stock).text(string(p.Availability)).textArray(p.CategoryPath).
		textOrNull(p.URL).textArray(p.Images)
	if attributes {
		t = t.jsonb(p.Attributes)
	}
	return t.textBytes(hash).sourceKey(source)
}

// stageTuple appends a staged row (stageColumns) to t.
func stageTuple(t tuple, row int64, part int32, p *product.Product, hash []byte, source uint64) tuple {
	return t.begin(len(stageColumns)).int8(row).int4(part).text(p.SKU).text(p.Name).text(p.Description).text(p.Brand).
		textOrNull(p.GTIN).numeric4(p.Price.Units()).text(p.Currency).int8OrNull(p.Stock).text(string(p.Availability)).
		textArrayOrNull(p.CategoryPath).textOrNull(p.URL).textArrayOrNull(p.Images).jsonbOrNull(p.Attributes).textBytes(hash).bool(false).
		sourceKey(source)
}

// slimTuple is a staged row of an unchanged product: row and SKU. Its
// content hash is "": merges never read a slim row's hash.
func slimTuple(row int64, part int32, sku string) tuple {
	t := make(tuple, 0, 64+len(sku)).begin(len(stageColumns)).int8(row).int4(part).text(sku)
	for range 12 {
		t = t.null()
	}
	return t.text("").bool(true).null()
}

// sourceKey appends a bound source key as a bigint, NULL for 0 (unknown).
func (t tuple) sourceKey(k uint64) tuple {
	if k == 0 {
		return t.null()
	}
	return t.int8(int64(k))
}

// arena holds the tuples of one chunk of rows in one block (or a few): a
// tuple per row was most of the worker's garbage, and a new block per
// chunk, zeroed and collected, a tenth of it. Blocks come from a pool and
// go back once the COPY stream has read every tuple in them (see
// block.release).
type arena struct {
	b tuple
	// blk owns b's array; nil until the first tuple.
	blk *block
	// key is scratch memory for the chunk's source keys.
	key []byte
}

const arenaSize = 128 << 10

// add returns the bytes encoded since start, capped so that nothing appends
// past them, and counts them as a tuple of the block.
//
// A tuple that outgrows the block's array moves it (append), which leaves
// the earlier tuples in the old array, intact; that array is not pooled
// again: the block keeps the new one.
func (a *arena) add(start int) (tuple, *block) {
	a.blk.b = a.b
	a.blk.live.Add(1)
	return a.b[start:len(a.b):len(a.b)], a.blk
}

// end is where the next tuple starts.
func (a *arena) end() int {
	if a.blk == nil {
		a.blk = blocks.Get().(*block)
		a.b = a.blk.b[:0]
	}
	return len(a.b)
}

// A block is the array of an arena's tuples. live counts the tuples not yet
// read by a COPY stream; the last read returns the block to blocks. A
// block of a failed batch is never released (its tuples are dropped): the
// collector takes it like any garbage.
type block struct {
	b    tuple
	live atomic.Int32
}

var blocks = sync.Pool{New: func() any { return &block{b: make(tuple, 0, arenaSize)} }}

// maxPooledBlock is the largest array a block takes back to the pool: one
// grown by a huge record is left to the collector.
const maxPooledBlock = 4 * arenaSize

// release says one tuple of b has been read. Nothing may use any tuple of
// the block after its last release.
func (b *block) release() {
	if b.live.Add(-1) == 0 && cap(b.b) <= maxPooledBlock {
		blocks.Put(b)
	}
}
