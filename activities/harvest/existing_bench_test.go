package harvest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"contextworker/modules/harvest/product"
)

// BenchmarkExistingFind looks up every one of a million stored products,
// added by the two parts of a parallel read as a re-harvest reads them,
// for a feed in SKU order and a shuffled one.
func BenchmarkExistingFind(b *testing.B) {
	const n = 1 << 20
	keys := make([]skuKeys, n)
	for i := range keys {
		keys[i] = keysOf(fmt.Sprintf("SKU-%08d", i))
	}
	ex := &existingSet{}
	ex.reserve(n)
	fill(ex, keys)
	for _, order := range []string{"sorted", "shuffled"} {
		feed := append([]skuKeys(nil), keys...)
		if order == "shuffled" {
			rand.New(rand.NewPCG(3, 4)).Shuffle(n, func(i, j int) { feed[i], feed[j] = feed[j], feed[i] })
		}
		b.Run("feed "+order, func(b *testing.B) {
			found := 0
			for range b.N {
				for _, k := range feed {
					if ex.find(k) >= 0 {
						found++
					}
				}
			}
			if found != n*b.N {
				b.Fatalf("found %d of %d", found, n*b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/find")
		})
	}
}

// BenchmarkExistingAdd fills the set with a million products from the two
// parts of a parallel read, sized from an estimate as loadExisting does.
func BenchmarkExistingAdd(b *testing.B) {
	const n = 1 << 20
	keys := make([]skuKeys, n)
	for i := range keys {
		keys[i] = keysOf(fmt.Sprintf("SKU-%08d", i))
	}
	for range b.N {
		ex := &existingSet{}
		ex.reserve(n * 105 / 100)
		fill(ex, keys)
	}
}

// fill adds keys to ex as loadExisting does: two adders, each half.
func fill(ex *existingSet, keys []skuKeys) {
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Go(func() {
			ad := existingAdder{set: ex}
			for _, k := range keys[part*len(keys)/2 : (part+1)*len(keys)/2] {
				ad.add(k, 1, product.XXHash, 0)
			}
			ad.flush()
		})
	}
	wg.Wait()
}

// forgetSeen forgets what a feed said about the stored products.
func forgetSeen(ex *existingSet) { ex.all(func(e *existing) { e.first, e.skipped = 0, false }) }

// add inserts one product, as an adder would (for tests). source is its
// stored bound source key, 0 if unknown.
func (s *existingSet) add(k skuKeys, hash, source uint64) {
	sh, _ := slotOf(k, 0)
	s.shards[sh].insert([]existing{{key: k.key, check: k.check, hash: hash, scheme: product.XXHash, source: source, used: true}})
}
