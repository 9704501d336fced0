package harvest

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	wf "contextworker/workflows/harvest"
)

// existingSet is the supplier's active products when staging starts, as
// SKU keys, content-hash keys and source keys sorted by SKU key (read by
// every normalising worker), and what the feed said about each (written by
// sequence only): 48 bytes a product.
type existingSet struct {
	entries []existing
	state   []seenState
	// index[b] is the first entry whose key's top indexBits bits are >= b.
	index []uint32
}

type existing struct {
	key  uint64
	hash uint64
	// source is the stored source key (see sourceKey); 0: unknown.
	source uint64
	check  uint32
}

// sourceKey binds the source key of a feed record (product.Normalizer.
// SourceKey) to the content-hash key of the product it gave: products
// store it, and a record whose bound key equals its product's is unchanged
// without normalising it. Binding makes a stored key stale as soon as
// anything rewrites the product's content without it (a worker older than
// the column): content-hash keys differ, so the bound keys do too. 0 is
// kept for "unknown".
func sourceKey(source, hashKey uint64) uint64 {
	k := source ^ hashKey*0x9e3779b97f4a7c15
	if k == 0 {
		k = 1
	}
	return k
}

type seenState struct {
	// first is the feed row that first named the product; 0: none yet.
	first int64
	// skipped: the first occurrence was unchanged and not staged.
	skipped bool
}

// find returns the index of the product with keys k, or -1.
func (s *existingSet) find(k skuKeys) int {
	if s == nil {
		return -1
	}
	// Keys are hashes, spread evenly: the bucket of the top bits holds a
	// few entries, so the search touches a cache line or two, not twenty.
	b := k.key >> (64 - indexBits)
	lo, hi := int(s.index[b]), int(s.index[b+1])
	i, ok := slices.BinarySearchFunc(s.entries[lo:hi], k.key, func(e existing, key uint64) int { return cmp.Compare(e.key, key) })
	if !ok {
		return -1
	}
	for i += lo; i < hi && s.entries[i].key == k.key; i++ {
		if s.entries[i].check == k.check {
			return i
		}
	}
	return -1
}

// add appends a product; call sort when done. source is its stored bound
// source key, 0 if unknown.
func (s *existingSet) add(k skuKeys, hash, source uint64) {
	s.entries = append(s.entries, existing{key: k.key, check: k.check, hash: hash, source: source})
}

// unchanged reports whether the product at index e was written from a
// record with source key source (so normalising the record again would
// give the stored product).
func (s *existingSet) unchanged(e int, source uint64) bool {
	x := s.entries[e]
	return x.source != 0 && x.source == sourceKey(source, x.hash)
}

func (s *existingSet) sort() {
	slices.SortFunc(s.entries, func(a, b existing) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.check, b.check))
	})
	s.entries = slices.Clip(s.entries)
	s.state = make([]seenState, len(s.entries))
	s.index = make([]uint32, 1<<indexBits+1)
	i := 0
	for b := range s.index {
		for i < len(s.entries) && s.entries[i].key>>(64-indexBits) < uint64(b) {
			i++
		}
		s.index[b] = uint32(i)
	}
}

// indexBits is the size of existingSet's bucket index: 2¹⁶ buckets (256
// KiB), about 15 products a bucket at a million.
const indexBits = 16

// missing returns the keys of the products the feed did not name.
func (s *existingSet) missing() map[skuKeys]struct{} {
	out := make(map[skuKeys]struct{})
	if s == nil {
		return out
	}
	for i, e := range s.entries {
		if s.state[i].first == 0 {
			out[skuKeys{key: e.key, check: e.check}] = struct{}{}
		}
	}
	return out
}

func (s *existingSet) len() int64 {
	if s == nil {
		return 0
	}
	return int64(len(s.entries))
}

// loadExisting reads the supplier's active products.
func (a *Activities) loadExisting(ctx context.Context, plan wf.Plan) (*existingSet, error) {
	// source_key in binary: 8 bytes, nothing to parse.
	rows, err := a.DB.Query(ctx, `SELECT sku, content_hash, source_key FROM products WHERE tenant_id = $1 AND supplier_code = $2 AND active`,
		pgx.QueryResultFormats{pgx.TextFormatCode, pgx.TextFormatCode, pgx.BinaryFormatCode}, plan.TenantID, plan.SupplierCode)
	if err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	defer rows.Close()
	s := &existingSet{}
	for rows.Next() {
		// raw text values: no string per row
		v := rows.RawValues()
		var source uint64
		if len(v[2]) == 8 {
			source = binary.BigEndian.Uint64(v[2])
		}
		s.add(keysOf(v[0]), hashKey(string(v[1][:min(16, len(v[1]))])), source)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	s.sort()
	return s, nil
}
