package product

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// hashVersion starts every hashed encoding. Change it whenever the encoding
// or the normalisation rules change, so that stored hashes stop matching
// and every product is rewritten once. (A change of the hash alone need
// not: see HashScheme.)
const hashVersion = "product/v1"

// Hash returns p's SHA-256 content hash: the hex SHA-256 (64 characters)
// of an unambiguous binary encoding of every field in a fixed order.
// Strings are length-prefixed, slices count-prefixed, the price is its
// integer units, Stock records presence, and attributes go in sorted key
// order. Equal products hash equally (a nil and an empty slice or map are
// equal); a change to any field changes the hash.
//
// Rows written before migration 0021 keep its first 16 digits (all 64
// before 0020): see LegacyHashKey. Rows since keep StoredHash, of the same
// encoding. TestHashGolden pins both: hashes are stored, so they must not
// drift.
func (p *Product) Hash() string {
	h := p.HexHash()
	return string(h[:])
}

// StoredHashDigits is how many hex digits of a product's content hash its
// row keeps (products.content_hash): 64 bits, which is what a re-harvest
// compares to tell a changed product (a 2⁻⁶⁴ chance per change of missing
// one). Rows written before 0020 keep all 64 digits of Hash: compare the
// first StoredHashDigits.
const StoredHashDigits = 16

// HexHash is Hash as an array, which costs no allocation.
func (p *Product) HexHash() [2 * sha256.Size]byte {
	var scratch [encodingScratch]byte
	sum := sha256.Sum256(p.encode(scratch[:0]))
	var text [2 * sha256.Size]byte
	hex.Encode(text[:], sum[:])
	return text
}

// StoredHash is what a product's row keeps as its content hash: the 64-bit
// xxHash (XXH64) of Hash's encoding, as StoredHashDigits upper-case hex
// digits, and the same as a number. A first load hashes every product:
// SHA-256 was an eighth of its Go-side CPU (0.42 s of 3.4 s at a million
// products, with SHA-NI), for 64 bits kept of 256, guarding nothing a
// supplier could gain by a collision (it would hide a change of its own
// products from itself). The upper case tells these digits from
// LegacyHashKey's, which are lower-case: see HashScheme.
func (p *Product) StoredHash() (text [StoredHashDigits]byte, key uint64) {
	var scratch [encodingScratch]byte
	key = xxhash.Sum64(p.encode(scratch[:0]))
	const digits = "0123456789ABCDEF"
	for i := range text {
		text[i] = digits[key>>(60-4*i)&0xf]
	}
	return text, key
}

// LegacyHashKey is the number a row written before migration 0021 keeps
// as its content hash: Hash's first 64 bits, as lower-case hex digits.
// A re-harvest compares it with such rows, which stay as they are until
// their product changes.
func (p *Product) LegacyHashKey() uint64 {
	var scratch [encodingScratch]byte
	sum := sha256.Sum256(p.encode(scratch[:0]))
	return binary.BigEndian.Uint64(sum[:8])
}

// A HashScheme tells which hash a stored content hash is of: Hash's
// (LegacyHashKey) when it has a lower-case hex letter, StoredHash's when it
// has an upper-case one, and either when it has digits alone (one hash in
// 1,800).
type HashScheme uint8

const (
	EitherHash HashScheme = iota
	LegacyHash
	XXHash
)

// SchemeOf returns the scheme of a stored content hash's digits.
func SchemeOf[T string | []byte](stored T) HashScheme {
	for i := range min(len(stored), StoredHashDigits) {
		switch c := stored[i]; {
		case c >= 'a' && c <= 'f':
			return LegacyHash
		case c >= 'A' && c <= 'F':
			return XXHash
		}
	}
	return EitherHash
}

// encodingScratch is the stack array encode starts in: a generous bound,
// 512 bytes overflowed for a fifth of typical rows.
const encodingScratch = 1024

// encode appends p's hashed encoding to b (see Hash).
func (p *Product) encode(b []byte) []byte {
	attrs := p.Attributes
	if !slices.IsSortedFunc(attrs, compareAttributes) {
		// Normalize's are sorted; one built by hand may not be.
		attrs = slices.SortedFunc(slices.Values(attrs), compareAttributes)
	}
	size := len(hashVersion) + len(p.SKU) + len(p.Name) + len(p.Description) +
		len(p.Brand) + len(p.GTIN) + len(p.Currency) + len(p.Availability) + len(p.URL) +
		16*binary.MaxVarintLen64 // the prefixes and numbers of the fixed fields
	for _, s := range p.CategoryPath {
		size += binary.MaxVarintLen64 + len(s)
	}
	for _, s := range p.Images {
		size += binary.MaxVarintLen64 + len(s)
	}
	for _, a := range attrs {
		size += 2*binary.MaxVarintLen64 + len(a.Key) + len(a.Value)
	}
	if size > cap(b)-len(b) {
		b = slices.Grow(b, size)
	}
	b = appendStr(b, hashVersion)
	b = appendStr(b, p.SKU)
	b = appendStr(b, p.Name)
	b = appendStr(b, p.Description)
	b = appendStr(b, p.Brand)
	b = appendStr(b, p.GTIN)
	b = binary.AppendUvarint(b, uint64(p.Price.units))
	b = appendStr(b, p.Currency)
	if p.Stock == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, *p.Stock)
	}
	b = appendStr(b, string(p.Availability))
	b = appendStrs(b, p.CategoryPath)
	b = appendStr(b, p.URL)
	b = appendStrs(b, p.Images)
	b = binary.AppendUvarint(b, uint64(len(attrs)))
	for _, a := range attrs {
		b = appendStr(b, a.Key)
		b = appendStr(b, a.Value)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}
