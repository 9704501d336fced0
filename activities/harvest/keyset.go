package harvest

import "math/rand/v2"

// keySet is a set of SKU keys: the SKUs a feed named that are not stored
// (all of them in a first load, a million and more). A Go map of skuKeys
// costs about 0.7 µs a key there (it hashes the struct field by field and
// misses the cache twice); this open-addressing table with linear probing
// costs about a third of that.
//
// It is split into 256 shards by the top bits of the mixed key, each
// growing on its own, so that growing never holds two copies of the whole
// set at once (the worker's memory has a ceiling).
type keySet struct {
	shards [keyShards]keyShard
	zero   bool // the zero skuKeys, which marks empty slots

	// A feed whose SKUs come in increasing order (many exports are sorted
	// by SKU) repeats none of them while it stays in order: addSKU and
	// appendInOrder keep their keys in a list, at the cost of an append,
	// until the first SKU out of order moves them into the table. The
	// table's inserts miss the cache: a third of a first load's
	// sequencing. The list is kept in blocks: one growing array would copy
	// itself over and over (80 MB of copies for a million keys) and hold
	// two copies at once while it grows.
	inOrder   [][]skuKeys
	last      string // the last SKU of inOrder
	unordered bool
}

// inOrderBlock is how many keys a block of keySet.inOrder holds (128 KiB);
// the first holds firstInOrderBlock (16 KiB), enough for the new SKUs of
// most re-harvests.
const (
	inOrderBlock      = 8192
	firstInOrderBlock = 1024
)

const keyShards = 256

type keyShard struct {
	slots []skuKeys
	n     int
	shift uint8 // 64 - log2(len(slots))
}

// addSKU inserts the keys k of sku and reports whether they were in the
// set already, like add, but for keys added by addSKU and appendInOrder
// alone (never by add), in order.
// Keys of distinct SKUs in increasing order are taken for distinct
// without a look at the table; a collision of keys then goes unnoticed,
// which only spares the duplicate check a false alarm.
func (s *keySet) addSKU(k skuKeys, sku string) (had bool) {
	if !s.unordered {
		if len(s.inOrder) == 0 || sku > s.last {
			s.appendInOrder(k, sku)
			return false
		}
		s.unordered = true
		for _, block := range s.inOrder {
			for _, prev := range block {
				s.add(prev)
			}
		}
		s.inOrder, s.last = nil, ""
	}
	return s.add(k)
}

// continues reports whether SKUs that strictly increase from first may go
// to the in-order list by appendInOrder: no SKU has been out of order yet,
// and first follows the last one.
func (s *keySet) continues(first string) bool {
	return !s.unordered && (len(s.inOrder) == 0 || first > s.last)
}

// appendInOrder adds the keys k of sku, which follows every SKU added so
// far (continues said so for the run it belongs to): addSKU without the
// comparison, and never a repeat.
func (s *keySet) appendInOrder(k skuKeys, sku string) {
	if n := len(s.inOrder); n == 0 || len(s.inOrder[n-1]) == cap(s.inOrder[n-1]) {
		size := inOrderBlock
		if n == 0 {
			size = firstInOrderBlock
		}
		s.inOrder = append(s.inOrder, make([]skuKeys, 0, size))
	}
	last := &s.inOrder[len(s.inOrder)-1]
	*last = append(*last, k)
	s.last = sku
}

// add inserts k and reports whether it was in the set already.
func (s *keySet) add(k skuKeys) (had bool) {
	if k == (skuKeys{}) {
		had, s.zero = s.zero, true
		return had
	}
	h := k.mixed()
	sh := &s.shards[h>>56]
	if sh.n >= len(sh.slots)*3/4 {
		sh.grow()
	}
	mask := uint64(len(sh.slots) - 1)
	for i := (h << 8) >> sh.shift; ; i = (i + 1) & mask {
		switch sh.slots[i] {
		case k:
			return true
		case skuKeys{}:
			sh.slots[i] = k
			sh.n++
			return false
		}
	}
}

func (sh *keyShard) grow() {
	old := sh.slots
	size := max(64, 2*len(old))
	sh.slots = make([]skuKeys, size)
	sh.shift = uint8(64 - log2(size))
	mask := uint64(size - 1)
	for _, k := range old {
		if k == (skuKeys{}) {
			continue
		}
		i := (k.mixed() << 8) >> sh.shift
		for sh.slots[i] != (skuKeys{}) {
			i = (i + 1) & mask
		}
		sh.slots[i] = k
	}
}

// mixed is where keys k go in a table (keySet, existingSet): its top bits
// pick the shard, the next ones the slot. FNV's low bits are weak, hence
// the multiplication. The check goes in too, so that SKUs crafted to share
// a 64-bit FNV key (a feed can hold a million of them: an FNV collision
// stays one with anything appended) do not all start their probes at one
// slot: only SKUs that collide in both hashes do, and those are one SKU to
// the set anyway. And the key is whitened with mixSeed, drawn per
// process: unseeded, the product's top bits are the same for every
// process, and a feed could hold SKUs found (by trying about a million a
// SKU) to share a shard and slot, making each insert and lookup walk all
// the others. A multiplication, not a finaliser: murmur3's, twice, made a
// lookup in a million products 40 ns slower (BenchmarkExistingFind).
func (k skuKeys) mixed() uint64 {
	return (k.key ^ mixSeed ^ uint64(k.check)*0xff51afd7ed558ccd) * 0x9e3779b97f4a7c15
}

// mixSeed whitens the keys of mixed for this process (sourceSlot has a
// seed of its own, drawn per existingSet).
var mixSeed = rand.Uint64() | 1

// log2 of a power of two.
func log2(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}
