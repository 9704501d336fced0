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
func (p *Product) Hash() string {
	var scratch [1024]byte
	b := appendStr(scratch[:0], hashVersion)
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
	b = binary.AppendUvarint(b, uint64(len(p.Attributes)))
	if len(p.Attributes) > 0 {
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendStr(b, p.Attributes[k])
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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
