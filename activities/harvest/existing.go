package harvest

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	wf "contextworker/workflows/harvest"
)

// existingSet is the supplier's active products when staging starts, as
// SKU keys, content-hash keys and source keys sorted by SKU key (read by
// every normalising worker), and what the feed said about each (written by
// sequence only): 48 bytes a product.
type existingSet struct {
	entries []existing
	state   []seenState
	// runs are the sorted runs entries is made of: one, or one per part
	// of a parallel read (each sorted by its reader, at once).
	runs []sortedRun
}

// sortedRun is entries[lo:hi], sorted by key and check. index[b] is the
// first of its entries (from lo) whose key's top indexBits bits are >= b.
type sortedRun struct {
	lo, hi int
	index  []uint32
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
	for _, r := range s.runs {
		if i := r.find(s.entries, k); i >= 0 {
			return i
		}
	}
	return -1
}

func (r *sortedRun) find(entries []existing, k skuKeys) int {
	// Keys are hashes, spread evenly: the bucket of the top bits holds a
	// few entries, so the search touches a cache line or two, not twenty.
	b := k.key >> (64 - indexBits)
	lo, hi := r.lo+int(r.index[b]), r.lo+int(r.index[b+1])
	i, ok := slices.BinarySearchFunc(entries[lo:hi], k.key, func(e existing, key uint64) int { return cmp.Compare(e.key, key) })
	if !ok {
		return -1
	}
	for i += lo; i < hi && entries[i].key == k.key; i++ {
		if entries[i].check == k.check {
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

func (s *existingSet) sort() { s.sortRuns([]int{0, len(s.entries)}) }

// sortRuns sorts entries[bounds[i]:bounds[i+1]] for each i, each run on a
// goroutine of its own: the parts of a parallel read are sorted at once
// (a million products: 0.3 s on one core), not merged.
func (s *existingSet) sortRuns(bounds []int) {
	s.entries = slices.Clip(s.entries)
	s.runs = make([]sortedRun, len(bounds)-1)
	var wg sync.WaitGroup
	for i := range s.runs {
		r := &s.runs[i]
		r.lo, r.hi = bounds[i], bounds[i+1]
		wg.Go(func() { r.index = sortRun(s.entries[r.lo:r.hi]) })
	}
	wg.Wait()
	s.state = make([]seenState, len(s.entries))
}

// sortRun sorts entries by key and check, and returns their bucket index.
func sortRun(entries []existing) []uint32 {
	// Keys are hashes, spread evenly over the buckets of the index: a
	// counting sort by bucket, then a small sort within each, costs a
	// fraction of a comparison sort of the whole set.
	index := make([]uint32, 1<<indexBits+1)
	for _, e := range entries {
		index[e.key>>(64-indexBits)+1]++
	}
	for b := 1; b < len(index); b++ {
		index[b] += index[b-1]
	}
	// In place (no second copy of the set): each swap puts one entry into
	// its bucket for good.
	next := slices.Clone(index[:1<<indexBits])
	for b := range uint64(1 << indexBits) {
		for end := index[b+1]; next[b] < end; {
			i := next[b]
			t := entries[i].key >> (64 - indexBits)
			if t == b {
				next[b]++
				continue
			}
			entries[i], entries[next[t]] = entries[next[t]], entries[i]
			next[t]++
		}
	}
	for b := range 1 << indexBits {
		slices.SortFunc(entries[index[b]:index[b+1]], func(a, b existing) int {
			return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.check, b.check))
		})
	}
	return index
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
	var parts [scanParts]existingSet
	// Sized from the partition's row estimate (set by its key build and by
	// vacuums), so that a million products are not copied while growing.
	var estimate float64
	if err := a.DB.QueryRow(ctx, `SELECT coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass(quote_ident(products_supplier_partition($1, $2)))), 0)`,
		plan.TenantID, plan.SupplierCode).Scan(&estimate); err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	if n := int(estimate * 1.05); n > 0 && n < 1<<26 {
		// Part 0 has room for the other parts, appended after the scan.
		parts[0].entries = make([]existing, 0, n)
		for i := 1; i < len(parts); i++ {
			parts[i].entries = make([]existing, 0, n/scanParts)
		}
	}
	// Only the hash key's 16 hex digits of each content hash: a million
	// products send 48 MB less.
	err := a.scanActive(ctx, plan, "sku, left(content_hash, 16), source_key", formats, func(part int, v [][]byte) error {
		var source uint64
		if len(v[2]) == 8 {
			source = binary.BigEndian.Uint64(v[2])
		}
		parts[part].add(keysOf(v[0]), hashKey(v[1]), source)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	s := &parts[0]
	bounds := []int{0, len(s.entries)}
	for i := 1; i < len(parts); i++ {
		s.entries = append(s.entries, parts[i].entries...)
		parts[i].entries = nil
		bounds = append(bounds, len(s.entries))
	}
	s.sortRuns(bounds)
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
