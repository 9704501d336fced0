package harvest

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
}

const keyShards = 256

type keyShard struct {
	slots []skuKeys
	n     int
	shift uint8 // 64 - log2(len(slots))
}

// add inserts k and reports whether it was in the set already.
func (s *keySet) add(k skuKeys) (had bool) {
	if k == (skuKeys{}) {
		had, s.zero = s.zero, true
		return had
	}
	// FNV's low bits are weak: mix before choosing shard and slot.
	h := k.key * 0x9e3779b97f4a7c15
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
		i := ((k.key * 0x9e3779b97f4a7c15) << 8) >> sh.shift
		for sh.slots[i] != (skuKeys{}) {
			i = (i + 1) & mask
		}
		sh.slots[i] = k
	}
}

// log2 of a power of two.
func log2(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}
