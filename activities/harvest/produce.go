package harvest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgtype"

	"contextworker/internal/feed"
	"contextworker/internal/product"
	wf "contextworker/workflows/harvest"
)

// item is one feed row on its way to the staging table: values to copy, a
// reject, or the error that ended the feed.
type item struct {
	row    int64
	values []any
	rej    *reject
	err    error
}

type producerOptions struct {
	parts    uint32
	skipTo   int64
	skuField string
	// existing maps skuKey → hashKey of the supplier's active products.
	existing map[uint64]uint64
}

// producer parses the feed in one goroutine and normalises it in
// GOMAXPROCS workers, then puts the rows back in feed order: staging
// checkpoints are feed-order prefixes. Parsing, normalising and loading
// (PostgreSQL) all overlap.
type producer struct {
	out  chan []item
	dups atomic.Bool
}

const chunkSize = 256

// rawItem is a record as read, before normalisation.
type rawItem struct {
	rec feed.Record
	bad *feed.RecordError
	err error
}

type job struct {
	seq   int
	items []rawItem
}

type result struct {
	seq   int
	items []item
	keys  []uint64 // skuKey of each valid item, 0 otherwise
}

// newNormalizer builds one normaliser per worker, so workers share nothing.
type newNormalizer func() (*product.Normalizer, error)

func startProducer(ctx context.Context, r feed.Reader, mk newNormalizer, o producerOptions) (*producer, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	norms := make([]*product.Normalizer, workers)
	for i := range norms {
		n, err := mk()
		if err != nil {
			return nil, err
		}
		norms[i] = n
	}
	p := &producer{out: make(chan []item, 16)}
	jobs := make(chan job, 2*workers)
	results := make(chan result, 2*workers)
	go read(ctx, r, o.skipTo, jobs)
	var wg sync.WaitGroup
	for _, norm := range norms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := normalise(j, norm, o)
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	go p.sequence(ctx, results)
	return p, nil
}

// read splits the feed into chunks of raw records, in order.
func read(ctx context.Context, r feed.Reader, skipTo int64, jobs chan<- job) {
	defer close(jobs)
	seq := 0
	chunk := make([]rawItem, 0, chunkSize)
	send := func() bool {
		if len(chunk) == 0 {
			return true
		}
		select {
		case jobs <- job{seq: seq, items: chunk}:
			seq++
			chunk = make([]rawItem, 0, chunkSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		rec, err := r.Next()
		var recErr *feed.RecordError
		switch {
		case errors.Is(err, io.EOF):
			send()
			return
		case errors.As(err, &recErr):
			if recErr.Row > skipTo {
				chunk = append(chunk, rawItem{bad: recErr})
			}
		case err != nil:
			chunk = append(chunk, rawItem{err: err})
			send()
			return
		case rec.Row > skipTo:
			chunk = append(chunk, rawItem{rec: rec})
		}
		if len(chunk) == chunkSize && !send() {
			return
		}
	}
}

func normalise(j job, norm *product.Normalizer, o producerOptions) result {
	res := result{seq: j.seq, items: make([]item, len(j.items)), keys: make([]uint64, len(j.items))}
	for i, raw := range j.items {
		switch {
		case raw.err != nil:
			res.items[i] = item{err: raw.err}
		case raw.bad != nil:
			res.items[i] = item{row: raw.bad.Row, rej: &reject{row: raw.bad.Row, reason: "unreadable record: " + raw.bad.Err.Error(), raw: raw.bad.Raw}}
		default:
			rec := raw.rec
			it := item{row: rec.Row}
			prod, err := norm.Normalize(rec)
			if err != nil {
				it.rej = &reject{row: rec.Row, sku: truncate(rec.Get(o.skuField), 128), reason: err.Error(), raw: rec.Raw}
			} else {
				key := skuKey(prod.SKU)
				res.keys[i] = key
				it.values = stageValues(rec.Row, o.parts, key, &prod, o.existing)
			}
			res.items[i] = it
		}
	}
	return res
}

// sequence restores feed order and notes duplicate SKUs.
func (p *producer) sequence(ctx context.Context, results <-chan result) {
	defer close(p.out)
	seen := make(map[uint64]struct{})
	pending := make(map[int]result)
	next := 0
	for res := range results {
		pending[res.seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for i, it := range r.items {
				if it.values == nil {
					continue
				}
				if _, dup := seen[r.keys[i]]; dup {
					p.dups.Store(true)
				}
				seen[r.keys[i]] = struct{}{}
			}
			select {
			case p.out <- r.items:
			case <-ctx.Done():
				return
			}
		}
	}
}

// skuKey is a 64-bit FNV-1a hash of a SKU: the staging partition and the
// key of the existing-products map.
func skuKey(sku string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(sku))
	return h.Sum64()
}

// hashKey is the first 64 bits of a hex content hash.
func hashKey(contentHash string) uint64 {
	if len(contentHash) < 16 {
		return 0
	}
	v, _ := strconv.ParseUint(contentHash[:16], 16, 64)
	return v
}

func stageValues(row int64, parts uint32, key uint64, p *product.Product, existing map[uint64]uint64) []any {
	hash := p.Hash()
	part := int32(key % uint64(parts))
	// Same SKU key and same content hash prefix as a stored active product:
	// stage it slim. (A false match needs a 64-bit SKU-hash collision and a
	// 64-bit content-hash collision at once.)
	if old, ok := existing[key]; ok && old == hashKey(hash) {
		return []any{row, part, p.SKU, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, hash, true}
	}
	var price pgtype.Numeric
	_ = price.Scan(p.Price.String()) // Decimal.String is always a valid numeric
	var attrs any
	if len(p.Attributes) > 0 {
		attrs = p.Attributes
	}
	return []any{row, part, p.SKU, p.Name, p.Description, p.Brand, nullable(p.GTIN), price,
		p.Currency, p.Stock, string(p.Availability), p.CategoryPath, nullable(p.URL), p.Images, attrs, hash, false}
}

// loadExisting reads the supplier's active products as skuKey → hashKey,
// 16 bytes a product, so unchanged rows can be staged slim.
func (a *Activities) loadExisting(ctx context.Context, plan wf.Plan) (map[uint64]uint64, error) {
	rows, err := a.DB.Query(ctx, `SELECT sku, content_hash FROM products WHERE tenant_id = $1 AND supplier_code = $2 AND active`,
		plan.TenantID, plan.SupplierCode)
	if err != nil {
		return nil, fmt.Errorf("stage: load existing products: %w", err)
	}
	defer rows.Close()
	out := make(map[uint64]uint64)
	var sku, hash string
	for rows.Next() {
		if err := rows.Scan(&sku, &hash); err != nil {
			return nil, err
		}
		out[skuKey(sku)] = hashKey(hash)
	}
	return out, rows.Err()
}
