package harvest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// existingSet is the supplier's active products when staging starts: SKU
// keys, content-hash keys and source keys (read by every normalising
// worker), and what the feed said about each (written by sequence only).
//
// It is an open-addressing table with linear probing, split into shards
// by the top bits of the mixed SKU key, each growing on its own (so that
// growing never holds two copies of the whole set at once). A lookup
// misses the cache once, and a loop of lookups alone (lookUpStored)
// overlaps the misses: 60-75 ns a lookup at a million products, in SKU
// order or not (BenchmarkExistingFind). The sorted runs it replaces took
// 66 ns in SKU order but 350 ns shuffled: a bucket, then a binary search
// in each run of the parallel read, every step waiting on the last miss.
// At a million products the table takes about 55 MB, the runs took 49.
//
// existingAdders are safe for concurrent use (the parts of a
// parallel read); find, at and the rest are for after the last add.
type existingSet struct {
	shards [existingShards]existingShard
	// bySource indexes the products by their source keys, unbound
	// (indexSources): slot values are product indexes plus one, 0 free.
	// A feed whose records are keyed by their text (feed.RawKeyer) finds
	// an unchanged record's product by it, without its SKU, so without
	// finishing the record. 4 bytes a slot, at most half of them used: 8
	// MiB at a million products. Nil until indexSources.
	bySource []uint32
	// sourceSeed keys where a source key's probe starts in bySource
	// (sourceSlot), drawn by indexSources; sourceShift keeps the top bits
	// that index it.
	sourceSeed  uint64
	sourceShift uint8
}

const existingShards = 256

type existingShard struct {
	mu    sync.Mutex
	slots []existing
	n     int
}

// existing is one slot of the table: 40 bytes.
type existing struct {
	key  uint64
	hash uint64
	// source is the stored bound source key (see sourceKey); 0: unknown.
	source uint64
	check  uint32
	used   bool
	// scheme tells which hash the stored content hash is of
	// (product.SchemeOf): XXH64, SHA-256 (rows from before 0021), or
	// either (digits alone); sameContent compares by it.
	scheme product.HashScheme
	// What the feed said, written by sequence alone. skipped: the first
	// occurrence was unchanged and not staged.
	skipped bool
	// first is the feed row that first named the product; 0: none yet.
	first int64
}

// existingGrowAt is the share of a shard's slots in use above which it
// grows, and reserve sizes shards for (of the estimate) below it.
const (
	existingGrowAt  = 0.85
	existingReserve = 0.75
)

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

// unbound is the source key a stored (bound) key was made of, but for a
// bound key of 1, which may also have been 0.
func unbound(stored, hashKey uint64) uint64 { return stored ^ hashKey*0x9e3779b97f4a7c15 }

// slotOf returns the shard of keys k and where their probe starts in a
// shard of size slots (see skuKeys.mixed).
func slotOf(k skuKeys, size int) (shard int, slot int) {
	h := k.mixed()
	return int(h >> 56), int((uint64(uint32(h>>24)) * uint64(size)) >> 32)
}

// reserve sizes the shards for about n products, before the first add.
func (s *existingSet) reserve(n int) {
	per := int(float64(n)/existingShards/existingReserve) + 1
	for i := range s.shards {
		if len(s.shards[i].slots) < per {
			s.shards[i].resize(per)
		}
	}
}

// insert puts es, all of this shard, in it.
func (sh *existingShard) insert(es []existing) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if float64(sh.n+len(es)) > float64(len(sh.slots))*existingGrowAt {
		sh.resize(max(64, 2*len(sh.slots), int(float64(sh.n+len(es))/existingReserve)+1))
	}
	for _, e := range es {
		sh.put(e)
	}
}

// existingAdder adds products to a set a shard's batch at a time: one
// goroutine's share of a parallel read. Its inserts, each a cache miss,
// then run a batch in a loop of their own, where the misses overlap and
// the shard is locked once (a lock's atomic instruction lets no miss
// overlap it). Call flush after the last add.
type existingAdder struct {
	set     *existingSet
	batches [existingShards][]existing
}

// existingBatch is how many products an adder holds for a shard: 320 KiB
// for the adder at most.
const existingBatch = 32

func (a *existingAdder) add(k skuKeys, hash uint64, scheme product.HashScheme, source uint64) {
	sh, _ := slotOf(k, 0)
	b := append(a.batches[sh], existing{key: k.key, check: k.check, hash: hash, scheme: scheme, source: source, used: true})
	if len(b) == existingBatch {
		a.set.shards[sh].insert(b)
		b = b[:0]
	}
	a.batches[sh] = b
}

func (a *existingAdder) flush() {
	for sh, b := range a.batches {
		if len(b) > 0 {
			a.set.shards[sh].insert(b)
		}
		a.batches[sh] = nil
	}
}

func (sh *existingShard) put(e existing) {
	_, i := slotOf(skuKeys{key: e.key, check: e.check}, len(sh.slots))
	for sh.slots[i].used {
		if i++; i == len(sh.slots) {
			i = 0
		}
	}
	sh.slots[i] = e
	sh.n++
}

func (sh *existingShard) resize(size int) {
	old := sh.slots
	sh.slots, sh.n = make([]existing, size), 0
	for _, e := range old {
		if e.used {
			sh.put(e)
		}
	}
}

// find returns the index of the product with keys k, or -1.
func (s *existingSet) find(k skuKeys) int {
	if s == nil {
		return -1
	}
	sh, _ := slotOf(k, 0)
	slots := s.shards[sh].slots
	if len(slots) == 0 {
		return -1
	}
	_, i := slotOf(k, len(slots))
	for {
		e := &slots[i]
		if !e.used {
			return -1
		}
		if e.key == k.key && e.check == k.check {
			return i<<8 | sh
		}
		if i++; i == len(slots) {
			i = 0
		}
	}
}

// at returns the product at index e (from find).
func (s *existingSet) at(e int) *existing { return &s.shards[e&0xff].slots[e>>8] }

// sameContent reports whether the product at index e has p's content: its
// content hash key hk (StoredHash's), or its LegacyHashKey when it was
// stored with that scheme (computed only then).
func (s *existingSet) sameContent(e int, hk uint64, p *product.Product) bool {
	x := s.at(e)
	switch x.scheme {
	case product.XXHash:
		return x.hash == hk
	case product.LegacyHash:
		return x.hash == p.LegacyHashKey()
	}
	return x.hash == hk || x.hash == p.LegacyHashKey()
}

// unchanged reports whether the product at index e was written from a
// record with source key source (so normalising the record again would
// give the stored product).
func (s *existingSet) unchanged(e int, source uint64) bool {
	x := s.at(e)
	return x.source != 0 && x.source == sourceKey(source, x.hash)
}

// indexSources builds bySource, after the last add.
func (s *existingSet) indexSources() {
	n := int(s.len())
	size := 1024
	for size < 2*n {
		size *= 2
	}
	s.bySource = make([]uint32, size)
	s.sourceSeed, s.sourceShift = rand.Uint64(), uint8(64-log2(size))
	mask := uint64(size - 1)
	for sh := range s.shards {
		for i := range s.shards[sh].slots {
			x := &s.shards[sh].slots[i]
			if !x.used || x.source == 0 {
				continue
			}
			j := s.sourceSlot(unbound(x.source, x.hash))
			for s.bySource[j] != 0 {
				j = (j + 1) & mask
			}
			s.bySource[j] = uint32(i<<8|sh) + 1
		}
	}
}

// sourceSlot is where source's probe starts in bySource. Source keys are
// XXH64 digests of records' texts, with no secret: a supplier could make
// a catalogue whose keys share their low bits (about 2 million tries a
// record, an hour or two of one core for 100,000 records), and on their
// own those bits would start every probe at one slot, making each of a
// re-harvest's inserts and lookups walk all the others. Whitened with a
// seed drawn per set and multiplied, the product's top bits cannot be
// aimed.
func (s *existingSet) sourceSlot(source uint64) uint64 {
	return ((source ^ s.sourceSeed) * 0x9e3779b97f4a7c15) >> s.sourceShift
}

// findSource returns the index of the product whose stored source key is
// source's (bound to its own content hash), or -1.
func (s *existingSet) findSource(source uint64) int {
	if s == nil || len(s.bySource) == 0 {
		return -1
	}
	mask := uint64(len(s.bySource) - 1)
	for j := s.sourceSlot(source); s.bySource[j] != 0; j = (j + 1) & mask {
		e := int(s.bySource[j] - 1)
		if s.unchanged(e, source) {
			return e
		}
	}
	return -1
}

// all calls each with every product.
func (s *existingSet) all(each func(*existing)) {
	if s == nil {
		return
	}
	for i := range s.shards {
		slots := s.shards[i].slots
		for j := range slots {
			if slots[j].used {
				each(&slots[j])
			}
		}
	}
}

// missing returns the keys of the products the feed did not name.
func (s *existingSet) missing() map[skuKeys]struct{} {
	out := make(map[skuKeys]struct{})
	s.all(func(e *existing) {
		if e.first == 0 {
			out[skuKeys{key: e.key, check: e.check}] = struct{}{}
		}
	})
	return out
}

func (s *existingSet) len() int64 {
	if s == nil {
		return 0
	}
	var n int64
	for i := range s.shards {
		n += int64(s.shards[i].n)
	}
	return n
}

// pendingExisting is a loadExisting under way.
type pendingExisting struct {
	done   chan struct{}
	set    *existingSet
	err    error
	cancel context.CancelFunc
}

// startLoadExisting starts loading the supplier's active products, unless
// this is a first load (there are none). wait returns them; cancel (after
// wait, or instead of it) lets go of the query.
func (a *Activities) startLoadExisting(ctx context.Context, plan wf.Plan, firstLoad bool) *pendingExisting {
	ctx, cancel := context.WithCancel(ctx)
	p := &pendingExisting{done: make(chan struct{}), cancel: cancel}
	if firstLoad {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		start := time.Now()
		p.set, p.err = a.loadExisting(ctx, plan)
		if p.err == nil {
			activity.GetLogger(ctx).Info("loaded stored products", "active", p.set.len(), "took", time.Since(start).String())
		}
	}()
	return p
}

func (p *pendingExisting) wait() (*existingSet, error) {
	<-p.done
	return p.set, p.err
}

// loadExisting reads the supplier's active products.
func (a *Activities) loadExisting(ctx context.Context, plan wf.Plan) (*existingSet, error) {
	// source_key in binary: 8 bytes, nothing to parse.
	formats := pgx.QueryResultFormats{pgx.TextFormatCode, pgx.TextFormatCode, pgx.BinaryFormatCode}
	s := &existingSet{}
	// Sized from the partition's row estimate (set by its key build and by
	// vacuums), so that a million products are not copied while growing.
	var estimate float64
	if err := a.DB.QueryRow(ctx, `SELECT coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass(quote_ident(products_supplier_partition($1, $2)))), 0)`,
		plan.TenantID, plan.SupplierCode).Scan(&estimate); err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	if n := int(estimate * 1.05); n > 0 && n < 1<<26 {
		s.reserve(n)
	}
	// Only the hash key's 16 hex digits of each content hash: a million
	// products stored before migration 0020 (all 64 digits) send 48 MB
	// less. Rows since hold 16, which left would copy all the same: about
	// a fifth of the scan's server time at a million.
	var adders [scanParts]existingAdder
	for i := range adders {
		adders[i].set = s
	}
	err := a.scanActive(ctx, plan, "sku, CASE WHEN octet_length(content_hash) > 16 THEN left(content_hash, 16) ELSE content_hash END, source_key", formats, func(part int, v [][]byte) error {
		var source uint64
		if len(v[2]) == 8 {
			source = binary.BigEndian.Uint64(v[2])
		}
		adders[part].add(keysOf(v[0]), hashKey(v[1]), product.SchemeOf(v[1]), source)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	for i := range adders {
		adders[i].flush()
	}
	return s, nil
}

// scanParts is how many connections scanActive reads a supplier's own
// partition on: both cores of a small machine, one backend each.
const scanParts = 2

// scanActive calls each with the raw values of columns (a trusted select
// list) of every active product of the supplier, in no order. A supplier's
// first load made it a partition of its own, which is read in scanParts
// block ranges at once, on as many connections, from one snapshot; each
// is called from one goroutine per part (part numbers them).
func (a *Activities) scanActive(ctx context.Context, plan wf.Plan, columns string, formats pgx.QueryResultFormats, each func(part int, v [][]byte) error) error {
	opts := pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}
	return pgx.BeginTxFunc(ctx, a.DB, opts, func(tx pgx.Tx) error {
		var leaf *string
		var blocks int64
		var snapshot string
		if err := tx.QueryRow(ctx, `SELECT to_regclass(quote_ident(p))::text, coalesce(pg_relation_size(to_regclass(quote_ident(p))), 0) / current_setting('block_size')::int8,
				pg_export_snapshot() FROM products_supplier_partition($1, $2) p`,
			plan.TenantID, plan.SupplierCode).Scan(&leaf, &blocks, &snapshot); err != nil {
			return err
		}
		query := `SELECT ` + columns + ` FROM products WHERE tenant_id = $1 AND supplier_code = $2 AND active`
		if leaf == nil || blocks < 1024 {
			return scanRows(ctx, tx, query, formats, plan, 0, each)
		}
		// Block ranges are read in order (TID range scans). Left to itself
		// the planner may walk the primary key, a random read per product,
		// when the partition has no statistics yet (right after its first
		// load: 1.8 s against 0.6 s for a million).
		if err := noIndexScans(ctx, tx); err != nil {
			return err
		}
		var g errgroup.Group
		per := (blocks + scanParts - 1) / scanParts
		for part := range scanParts {
			lo, hi := int64(part)*per, int64(part+1)*per
			rangeQuery := fmt.Sprintf(`%s AND ctid >= '(%d,0)'::tid`, query, lo)
			if part < scanParts-1 {
				rangeQuery += fmt.Sprintf(` AND ctid < '(%d,0)'::tid`, hi)
			}
			if part == 0 {
				g.Go(func() error { return scanRows(ctx, tx, rangeQuery, formats, plan, part, each) })
				continue
			}
			g.Go(func() error {
				// Same snapshot: the parts see one state of the catalogue.
				return pgx.BeginTxFunc(ctx, a.DB, opts, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `SET TRANSACTION SNAPSHOT `+literal(snapshot)); err != nil {
						return err
					}
					if err := noIndexScans(ctx, tx); err != nil {
						return err
					}
					return scanRows(ctx, tx, rangeQuery, formats, plan, part, each)
				})
			})
		}
		return g.Wait()
	})
}

func noIndexScans(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off`)
	return err
}

func scanRows(ctx context.Context, tx pgx.Tx, query string, formats pgx.QueryResultFormats, plan wf.Plan, part int, each func(int, [][]byte) error) error {
	rows, err := tx.Query(ctx, query, formats, plan.TenantID, plan.SupplierCode)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		// raw values: no string per row
		if err := each(part, rows.RawValues()); err != nil {
			return err
		}
	}
	return rows.Err()
}
