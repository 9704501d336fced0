package harvest

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestKeySetIsASet checks keySet against a map: the same answers for new
// and repeated keys, including the zero key (its empty-slot marker), keys
// that share a 64-bit key but not the check, and enough keys to grow
// every shard several times.
func TestKeySetIsASet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s keySet
	want := map[skuKeys]bool{}
	var added []skuKeys
	check := func(k skuKeys) {
		t.Helper()
		had := s.add(k)
		if had != want[k] {
			t.Fatalf("add(%x/%x) = %v, a map says %v (after %d keys)", k.key, k.check, had, want[k], len(want))
		}
		want[k] = true
		added = append(added, k)
	}
	check(skuKeys{})
	check(skuKeys{})
	for i := range 300000 {
		var k skuKeys
		switch {
		case i%7 == 0 && len(added) > 0:
			k = added[rng.IntN(len(added))] // a repeat
		case i%11 == 0 && len(added) > 0:
			k = added[rng.IntN(len(added))]
			k.check++ // same key, other SKU
		case i%13 == 0:
			k = skuKeys{key: uint64(i) << 8} // low bits alike
		default:
			k = skuKeys{key: rng.Uint64(), check: rng.Uint32()}
		}
		check(k)
	}
	for k := range want {
		if !s.add(k) {
			t.Fatalf("key %x/%x lost", k.key, k.check)
		}
	}
	n := 0
	for i := range s.shards {
		n += s.shards[i].n
	}
	if s.zero {
		n++
	}
	if n != len(want) {
		t.Fatalf("set holds %d keys, want %d", n, len(want))
	}
}

// TestKeySetAddSKU: SKUs in increasing order take the list, and the
// first one out of order moves them into the table: a repeat of any of
// them is found then, whether it is the SKU that breaks the order, one
// after it, or one of the first.
func TestKeySetAddSKU(t *testing.T) {
	for _, feed := range [][]string{
		{"A", "B", "C", "D", "C", "E", "A", "F", "F"},
		{"A", "A", "B"},
		{"B", "A", "B", "C"},
		{"A", "B", "C"},
	} {
		var s keySet
		seen := map[string]bool{}
		for i, sku := range feed {
			if got := s.addSKU(keysOf(sku), sku); got != seen[sku] {
				t.Fatalf("%v: addSKU(%s) at %d = %v, want %v", feed, sku, i, got, seen[sku])
			}
			seen[sku] = true
		}
		strictly := true // each SKU greater than the one before
		for i := 1; i < len(feed); i++ {
			strictly = strictly && feed[i] > feed[i-1]
		}
		if ordered := !s.unordered; ordered != strictly || ordered && s.listed() != len(feed) {
			t.Fatalf("%v: in order %v with %d keys listed", feed, ordered, s.listed())
		}
	}
	// A million sorted SKUs, then one of them again.
	var s keySet
	for i := range 1_000_000 {
		sku := fmt.Sprintf("SKU-%08d", i)
		if s.addSKU(keysOf(sku), sku) {
			t.Fatalf("%s taken for a repeat", sku)
		}
	}
	if s.listed() != 1_000_000 {
		t.Fatalf("%d keys listed, want a million", s.listed())
	}
	if !s.addSKU(keysOf("SKU-00000007"), "SKU-00000007") || s.addSKU(keysOf("SKU-X"), "SKU-X") {
		t.Fatal("the repeat after a sorted million was not found, or a new SKU was taken for one")
	}
	// Every block of the list moved into the table: the middle's and the
	// last's keys are found too.
	for _, sku := range []string{"SKU-00500000", "SKU-00999999"} {
		if !s.addSKU(keysOf(sku), sku) {
			t.Fatalf("%s, listed before the order broke, not found", sku)
		}
	}
}

// BenchmarkKeySet and BenchmarkKeyMap compare the set with the map it
// replaced, at a first load's million SKUs.
func BenchmarkKeySet(b *testing.B) {
	keys := benchKeys()
	for range b.N {
		var s keySet
		for _, k := range keys {
			s.add(k)
		}
	}
}

func BenchmarkKeyMap(b *testing.B) {
	keys := benchKeys()
	for range b.N {
		m := map[skuKeys]struct{}{}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				m[k] = struct{}{}
			}
		}
	}
}

func benchKeys() []skuKeys {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]skuKeys, 1<<20)
	for i := range keys {
		keys[i] = keysOf(fmt.Sprintf("SKU-%08d", rng.IntN(1<<21)))
	}
	return keys
}

// TestKeySetContinues: a run of SKUs may go to the in-order list only
// while the set is in order and the run starts after its last SKU; keys
// appended so are found once the order breaks.
func TestKeySetContinues(t *testing.T) {
	var s keySet
	if !s.continues("B") {
		t.Fatal("an empty set does not take a run")
	}
	for _, sku := range []string{"B", "C"} {
		s.appendInOrder(keysOf(sku), sku)
	}
	for first, want := range map[string]bool{"A": false, "C": false, "D": true} {
		if got := s.continues(first); got != want {
			t.Errorf("after B, C: continues(%q) = %v, want %v", first, got, want)
		}
	}
	if s.addSKU(keysOf("A"), "A") || !s.addSKU(keysOf("C"), "C") {
		t.Fatal("the order broke: A taken for a repeat, or appended C not found")
	}
	if s.continues("Z") {
		t.Fatal("a set out of order takes a run")
	}
}

// listed is how many keys the in-order list holds.
func (s *keySet) listed() int {
	n := 0
	for _, block := range s.inOrder {
		n += len(block)
	}
	return n
}

// TestSetsSpreadCollidingKeys: SKUs that share a 64-bit FNV key but not
// their check (a hostile feed can hold a million: an FNV collision stays
// one with anything appended) are spread over the tables of keySet and
// existingSet. Were they all to start their probes at one slot, each
// insert and lookup would walk past all the others: quadratic.
func TestSetsSpreadCollidingKeys(t *testing.T) {
	const n = 50000
	keys := make([]skuKeys, n)
	for i := range keys {
		keys[i] = skuKeys{key: 0x0123456789abcdef, check: uint32(i)*2654435761 + 1}
	}
	var ks keySet
	ex := &existingSet{}
	for i, k := range keys {
		if ks.add(k) {
			t.Fatalf("key %d: reported as seen before", i)
		}
		ex.add(k, uint64(i), 0)
	}
	for i, k := range keys {
		if !ks.add(k) {
			t.Fatalf("key %d: not seen", i)
		}
		if e := ex.find(k); e < 0 || ex.at(e).hash != uint64(i) {
			t.Fatalf("key %d: found %d", i, e)
		}
	}
	longest := 0
	for i := range ks.shards {
		longest = max(longest, longestRun(len(ks.shards[i].slots), func(j int) bool { return ks.shards[i].slots[j] != (skuKeys{}) }))
	}
	for i := range ex.shards {
		longest = max(longest, longestRun(len(ex.shards[i].slots), func(j int) bool { return ex.shards[i].slots[j].used }))
	}
	if longest > 500 {
		t.Fatalf("a probe may walk %d slots of %d keys", longest, n)
	}
}

// longestRun is the longest run of used slots of a table of size slots,
// wrapping around.
func longestRun(size int, used func(int) bool) int {
	longest, run := 0, 0
	for j := range 2 * size {
		if used(j % size) {
			run++
			longest = max(longest, min(run, size))
		} else {
			run = 0
		}
	}
	return longest
}
