package harvest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
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

// producer parses and normalises the feed in its own goroutine, so that
// parsing (Go) and loading (PostgreSQL) overlap instead of taking turns.
type producer struct {
	out  chan []item
	dups atomic.Bool
}

const chunkSize = 256

func startProducer(ctx context.Context, r feed.Reader, norm *product.Normalizer, o producerOptions) *producer {
	p := &producer{out: make(chan []item, 16)}
	go p.run(ctx, r, norm, o)
	return p
}

func (p *producer) run(ctx context.Context, r feed.Reader, norm *product.Normalizer, o producerOptions) {
	defer close(p.out)
	seen := make(map[uint64]struct{}, len(o.existing))
	chunk := make([]item, 0, chunkSize)
	send := func() bool {
		if len(chunk) == 0 {
			return true
		}
		select {
		case p.out <- chunk:
			chunk = make([]item, 0, chunkSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			send()
			return
		}
		var recErr *feed.RecordError
		switch {
		case errors.As(err, &recErr):
			if recErr.Row > o.skipTo {
				chunk = append(chunk, item{row: recErr.Row, rej: &reject{row: recErr.Row, reason: "unreadable record: " + recErr.Err.Error(), raw: recErr.Raw}})
			}
		case err != nil:
			chunk = append(chunk, item{err: err})
			send()
			return
		case rec.Row <= o.skipTo:
			// staged before the checkpoint
		default:
			it := item{row: rec.Row}
			prod, err := norm.Normalize(rec)
			if err != nil {
				it.rej = &reject{row: rec.Row, sku: truncate(rec.Get(o.skuField), 128), reason: err.Error(), raw: rec.Raw}
			} else {
				key := skuKey(prod.SKU)
				if _, dup := seen[key]; dup {
					p.dups.Store(true)
				}
				seen[key] = struct{}{}
				it.values = stageValues(rec.Row, o.parts, key, &prod, o.existing)
			}
			chunk = append(chunk, it)
		}
		if len(chunk) == chunkSize && !send() {
			return
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
