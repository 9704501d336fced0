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

// TestSourceSlotsCannotBeAimed: source keys that share their low 24 bits
// (what a catalogue crafted against the unseeded low bits would hold)
// start their probes in bySource all over the table, not at one slot, and
// every one is found again.
func TestSourceSlotsCannotBeAimed(t *testing.T) {
	const n = 50000
	ex := &existingSet{}
	for i := range n {
		k := keysOf(string(rune('a'+i%26)) + string(rune(0x100+i)))
		source := uint64(i+1) << 24 // the same low 24 bits, zero, for all
		sh, _ := slotOf(k, 0)
		ex.shards[sh].insert([]existing{{key: k.key, check: k.check, hash: uint64(i), scheme: product.XXHash,
			source: sourceKey(source, uint64(i)), used: true}})
	}
	ex.indexSources()
	starts := map[uint64]bool{}
	for i := range n {
		source := uint64(i+1) << 24
		starts[ex.sourceSlot(source)] = true
		if e := ex.findSource(source); e < 0 || ex.at(e).hash != uint64(i) {
			t.Fatalf("source %x: found %d", source, e)
		}
	}
	// Thrown at random into 2^17 slots, 50,000 keys start at about 41,000
	// distinct ones; aimed, at one.
	if len(starts) < n/2 {
		t.Fatalf("%d keys start their probes at %d slots", n, len(starts))
	}
}

// TestMixedCannotBeAimed: distinct SKU keys that the unseeded mixing sent
// to one shard and slot (their products with its constant share their top
// 20 bits, which a feed could bring about by trying SKUs) go all over once
// whitened with the process's seed, and the key set keeps them apart.
// (Keys whose key ^ check·0xff51afd7ed558ccd is equal still meet: that is
// a 64-bit collision a feed would need for every pair of SKUs, not one.)
func TestMixedCannotBeAimed(t *testing.T) {
	const n = 50000
	const mul = 0x9e3779b97f4a7c15
	inv := uint64(mul) // mul's inverse modulo 2^64, by Newton's iteration
	for range 5 {
		inv *= 2 - mul*inv
	}
	var ks keySet
	starts := map[uint64]bool{}
	for i := range n {
		aimed := uint64(0xabcde)<<44 | uint64(i)*7919 // the same top 20 bits
		check := uint32(i)*2654435761 + 1
		k := skuKeys{key: aimed*inv ^ uint64(check)*0xff51afd7ed558ccd, check: check}
		if ks.add(k) {
			t.Fatalf("key %d: reported as seen before", i)
		}
		starts[k.mixed()>>44] = true // the shard and the slot's top bits
	}
	if len(starts) < n/2 {
		t.Fatalf("%d keys go to %d places", n, len(starts))
	}
}
