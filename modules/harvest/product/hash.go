package product

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// hashVersion starts every hashed encoding. Change it whenever the encoding
// or the normalisation rules change, so that stored hashes stop matching
// and every product is rewritten once.
const hashVersion = "product/v1"

// Hash returns the content hash of p: the hex SHA-256 (64 characters) of an
// unambiguous binary encoding of every field in a fixed order. Strings are
// length-prefixed, slices count-prefixed, the price is its integer units,
// Stock records presence, and attributes go in sorted key order. Equal
// products hash equally (a nil and an empty slice or map are equal); a change
// to any field changes the hash.
//
// TestHashGolden pins the encoding: hashes are stored, so it must not drift.
func (p *Product) Hash() string {
	h := p.HexHash()
	return string(h[:])
}

// StoredHashDigits is how many leading hex digits of Hash a product's row
// keeps (products.content_hash): 64 bits, which is what a re-harvest
// compares to tell a changed product (a 2⁻⁶⁴ chance per change of missing
// one). The other 48 digits were a tenth of every row's bytes, bought
// nothing, and cost a first load that tenth in COPY, WAL and heap. Rows
// written before keep all 64 digits: compare the first StoredHashDigits.
const StoredHashDigits = 16

// HexHash is Hash as an array, which costs no allocation.
func (p *Product) HexHash() [2 * sha256.Size]byte {
	sum := p.sum()
	var text [2 * sha256.Size]byte
	hex.Encode(text[:], sum[:])
	return text
}

// StoredHash is what a product's row keeps of Hash (its first
// StoredHashDigits hex digits) and the same as a number: the hash's first
// 64 bits, big-endian. A first load writes it for every row; encoding the
// other 48 digits and parsing these 16 back cost 2% of its Go-side CPU.
func (p *Product) StoredHash() (text [StoredHashDigits]byte, key uint64) {
	sum := p.sum()
	hex.Encode(text[:], sum[:StoredHashDigits/2])
	return text, binary.BigEndian.Uint64(sum[:8])
}

// sum is the SHA-256 of p's hashed encoding.
func (p *Product) sum() [sha256.Size]byte {
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

	var scratch [1024]byte // the size is a generous bound: 512 bytes overflowed for a fifth of typical rows
	b := scratch[:0]
	if size > len(scratch) {
		b = make([]byte, 0, size)
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
	return sha256.Sum256(b)
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
