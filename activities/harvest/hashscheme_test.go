package harvest

import (
	"testing"

	"contextworker/modules/harvest/product"
)

// TestSameContentBySchemes: a stored product is compared by the hash it
// was stored with: XXH64's key, SHA-256's (LegacyHashKey), or either when
// its digits do not tell (no letter among them).
func TestSameContentBySchemes(t *testing.T) {
	p := product.Product{SKU: "A1", Name: "Hammer", Currency: "EUR", Availability: product.InStock}
	other := p
	other.Name = "Mallet"
	_, xxh := p.StoredHash()
	sha := p.LegacyHashKey()
	ex := &existingSet{}
	for i, c := range []struct {
		hash   uint64
		scheme product.HashScheme
	}{{xxh, product.XXHash}, {sha, product.LegacyHash}, {xxh, product.EitherHash}, {sha, product.EitherHash},
		{sha, product.XXHash}, {xxh, product.LegacyHash}} {
		k := keysOf(string(rune('a' + i)))
		sh, _ := slotOf(k, 0)
		ex.shards[sh].insert([]existing{{key: k.key, check: k.check, hash: c.hash, scheme: c.scheme, used: true}})
		e := ex.find(k)
		want := i < 4 // the last two were stored by the other scheme's hash: a change
		if got := ex.sameContent(e, xxh, &p); got != want {
			t.Errorf("hash %x of scheme %d: same %t, want %t", c.hash, c.scheme, got, want)
		}
		_, otherXXH := other.StoredHash()
		if ex.sameContent(e, otherXXH, &other) {
			t.Errorf("hash %x of scheme %d: the same as another product's", c.hash, c.scheme)
		}
	}
}
