package product

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// sourceKeyVersion starts a Normalizer's source-key seed. The seed also
// covers hashVersion (the normalisation rules) and every option, so a
// change to either makes every stored source key stale.
const sourceKeyVersion = "product/source/v1"

// sourceSeed is the xxhash seed of n's source keys: the rules version and
// everything that configures the normaliser.
func (n *Normalizer) sourceSeed() uint64 {
	b := []byte(sourceKeyVersion)
	b = appendStr(b, hashVersion)
	for _, f := range n.fields {
		b = appendStr(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(n.attrs)))
	for _, a := range n.attrs {
		b = appendStr(appendStr(b, a.key), a.feed)
	}
	yml := byte(0)
	if n.yml {
		yml = 1
	}
	b = append(b, yml)
	b = appendStr(appendStr(b, n.defaultCurrency), n.categorySep)
	return xxhash.Sum64(b)
}

// SourceKey starts the source key of one record: a 64-bit key of
// everything Normalize reads from it, seeded with n's options and the
// normalisation rules' version. Add every (name, value) pair of the record,
// in document order (as Enumerator.Pairs yields them), then read Sum. Two
// records with equal keys normalise to the same Product or reject, but for
// a 2⁻⁶⁴ chance of collision; a caller may keep the key beside a stored
// product and skip normalising a record whose key it finds again.
//
// buf is scratch memory the key may reuse (pass the last key's Buf) so
// that one goroutine keys many records without allocating.
func (n *Normalizer) SourceKey(buf []byte) SourceKey {
	return SourceKey{b: binary.LittleEndian.AppendUint64(buf[:0], n.seed)}
}

// TextSourceKey returns the source key of a record a feed reader can
// finish from its text alone and a digest of everything else its Fields
// depend on (feed.RawKeyer): records with equal text and context have
// equal Fields, so they normalise alike, as with SourceKey. It costs a
// hash of the text: no parse, no copy. Its keys are not SourceKey's: a
// record keyed one way does not match the other's key.
func (n *Normalizer) TextSourceKey(text string, context uint64) uint64 {
	d := xxhash.NewWithSeed(n.seed)
	var b [17]byte
	b[0] = 't' // what follows is a text and its context, not fields
	binary.LittleEndian.PutUint64(b[1:], context)
	binary.LittleEndian.PutUint64(b[9:], uint64(len(text)))
	d.Write(b[:])       //nolint:errcheck // a Digest's Write never fails
	d.WriteString(text) //nolint:errcheck
	return d.Sum64()
}

// SourceKey accumulates a record's source key; see Normalizer.SourceKey.
type SourceKey struct{ b []byte }

// Add adds one field of the record.
func (k *SourceKey) Add(name, value string) { k.b = appendStr(appendStr(k.b, name), value) }

// Sum returns the key of the fields added so far.
func (k *SourceKey) Sum() uint64 { return xxhash.Sum64(k.b) }

// Buf returns the key's memory, for the next Normalizer.SourceKey.
func (k *SourceKey) Buf() []byte { return k.b }

// SKUField is the feed field Normalize reads the SKU from ("" if unmapped).
func (n *Normalizer) SKUField() string { return n.fields[fieldSKU] }

// SKU returns the SKU Normalize would make of value, the record's SKUField
// value, and false when Normalize would reject the record for its SKU. It
// costs a small part of Normalize.
func (n *Normalizer) SKU(value string) (string, bool) {
	sku, reason := normalizeSKU(value)
	return sku, reason == ""
}
