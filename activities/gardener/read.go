package gardener

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// batchSQL reads the next batch after the cursor, by keyset on the primary
// key (sku, supplier_code, tenant_id; the tenant is fixed), so the scan
// resumes where it stopped, whatever the size. Without stale enrichers only
// products changed since the window's start are read. %s is the keyset
// order: see batchOrder. activated tells products that became active in
// the window (inserted or reactivated) from those that were active before
// it; activated_at is NULL where not recorded, and last_seen is then the
// latest it can be. The stored enrichments are read apart (storedSQL):
// a join per product cost more than the products themselves.
const batchSQL = `
SELECT p.supplier_code, p.sku, p.name, p.description, p.brand, coalesce(p.gtin, ''), p.price::float8, p.currency,
	p.stock, p.availability, p.category_path, p.image_urls, p.attributes, p.content_hash, p.last_seen,
	($3::timestamptz IS NULL OR p.last_seen > $3) AS changed,
	($3::timestamptz IS NULL OR coalesce(p.activated_at, p.last_seen) > $3) AS activated
FROM products p
WHERE p.tenant_id = $1 AND ($2::text = '' OR p.supplier_code = $2) AND p.active
	AND %[1]s > %[2]s
	AND ($4::bool OR $3::timestamptz IS NULL OR p.last_seen > $3)
ORDER BY %[3]s
LIMIT $7`

// batchOrder is the keyset of a run: (sku, supplier_code) for runs begun
// since products' key leads with the SKU, (supplier_code, sku) before.
func batchOrder(plan wf.Plan) string {
	if plan.SKUOrder {
		return fmt.Sprintf(batchSQL, "(p.sku, p.supplier_code)", "($6::text, $5::text)", "p.sku, p.supplier_code")
	}
	return fmt.Sprintf(batchSQL, "(p.supplier_code, p.sku)", "($5::text, $6::text)", "p.supplier_code, p.sku")
}

// storedRangeSQL reads what is stored for every product of the batch's
// suppliers within its SKU range: one index range per supplier. It serves
// dense batches (every active product of the range), where it reads little
// beyond the batch; rows of products outside the batch are skipped.
const storedRangeSQL = `
SELECT e.supplier_code, e.sku, e.field, e.value, e.enricher, e.enricher_version
FROM enrichments e
WHERE e.tenant_id = $1 AND e.supplier_code = ANY ($2::text[]) AND e.sku >= $3 AND e.sku <= $4`

// storedKeysSQL reads what is stored for the batch's products by key: for
// sparse batches (changed products only), whose SKU range spans many
// products outside the batch.
const storedKeysSQL = `
SELECT e.supplier_code, e.sku, e.field, e.value, e.enricher, e.enricher_version
FROM unnest($2::text[], $3::text[]) AS k(supplier_code, sku)
JOIN enrichments e ON e.tenant_id = $1 AND e.supplier_code = k.supplier_code AND e.sku = k.sku`

// storedSupplierKeysSQL is storedKeysSQL for a sparse batch of one
// supplier (a run confined to a supplier, or a tenant with one): one index
// scan for all the keys, a fifth cheaper than a join probing key by key.
const storedSupplierKeysSQL = `
SELECT e.supplier_code, e.sku, e.field, e.value, e.enricher, e.enricher_version
FROM enrichments e
WHERE e.tenant_id = $1 AND e.supplier_code = $2 AND e.sku = ANY ($3::text[])`

// provenance is who stored a field: compared with who produces it now.
type provenance struct {
	enricher, version string
}

// work is one batch on its way through the pipeline: read after a cursor,
// enriched, diffed against what is stored, and committed.
type work struct {
	afterSupplier, afterSKU string
	// afterChange and afterPos are a logged run's cursor in the change
	// log (entry, SKUs of it taken) the batch was read from, nextChange
	// and nextPos where it leaves it; 0 for a walk.
	afterChange, nextChange int64
	afterPos, nextPos       int
	// skipped counts the logged products a logged run's batch did not
	// read: none of their changed columns is read by an enricher. more:
	// the batch is empty, but the window is not done (readChangesTx).
	skipped int64
	more    bool
	// atAddress counts the products a logged run's batch read at the
	// address the log gave (the others by key).
	atAddress int
	batch     []*enrich.Product
	// stored[i] is the provenance of batch[i]'s stored fields (nil when
	// none); the values are in batch[i].Stored.
	stored []map[string]provenance
	delta  delta
	// tallies are what the enrichers counted in the batch, marks what
	// they marked.
	tallies map[enrich.Tally]int64
	marks   []enrich.Tally
	// enrichMillis is the time the enrichers and the diff took.
	enrichMillis int64
}

// dense reports whether a run reads every active product (a full run, or
// stale enrichers), rather than those changed since its window's start.
func dense(plan wf.Plan) bool { return plan.From == nil || len(plan.Stale) > 0 }

// readSettings are the planner settings of every read. Every read walks a
// key: products from the cursor, what is stored by key range or by key.
// Planned otherwise, a sparse run's batch scanned the whole partition and
// sorted it, for every batch (quadratic in the catalogue), and a first
// run's reads of what is stored, planned on statistics of a table still
// filling, may scan it whole for each batch. What is stored for a sparse
// batch is read by key, one index probe a product: joined otherwise (merge
// or hash, in parallel), every batch read the tenant's whole enrichments
// index to meet its 5,000 keys. The settings that disable plans make the
// other plans look dear, which started JIT compilation (most of a second)
// for reads of a few milliseconds: JIT is off.
const readSettings = `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;
	SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off; SET LOCAL max_parallel_workers_per_gather = 0;
	SET LOCAL jit = off`

// readTxFunc runs f in a read-only transaction with readSettings.
func (a *Activities) readTxFunc(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, a.DB, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, readSettings); err != nil {
			return err
		}
		return f(tx)
	})
}

// readBatch reads the products of the batch after the cursor: from the
// change log when the run reads its window from it (changelog.go).
func (a *Activities) readBatch(ctx context.Context, plan wf.Plan, afterSupplier, afterSKU string, afterChange int64, afterPos int) (*work, error) {
	var w *work
	err := a.readTxFunc(ctx, func(tx pgx.Tx) error {
		if plan.ChangeLog {
			w = &work{afterSupplier: afterSupplier, afterSKU: afterSKU, afterChange: afterChange, afterPos: afterPos}
			return readChangesTx(ctx, tx, plan, a.Pipeline.Inputs(), w)
		}
		var err error
		w, err = readBatchTx(ctx, tx, plan, afterSupplier, afterSKU)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	return w, nil
}

// readStored reads what is stored for w's products into them. Its
// statement never shared a snapshot with readBatch's (read committed): what
// is stored for a batch's products changes only by the commit of that
// batch, which waits for this read.
//
// What is stored for a sparse batch is read in storedParts parts at once,
// each on its own connection: the read probes the key of every product,
// and with a tenth of a 1M catalogue changed it took 40 ms a batch against
// 23 ms for reading the products, so the whole run waited on it. A dense
// batch's is one key range, read in a fraction of its products' time.
func (a *Activities) readStored(ctx context.Context, plan wf.Plan, w *work) error {
	w.stored = make([]map[string]provenance, len(w.batch))
	parts := 1
	if !dense(plan) {
		parts = min(storedParts, len(w.batch)/minStoredPart)
	}
	if parts <= 1 {
		return a.readStoredPart(ctx, plan, w.batch, w.stored)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		lo, hi := len(w.batch)*i/parts, len(w.batch)*(i+1)/parts
		g.Go(func() error { return a.readStoredPart(gctx, plan, w.batch[lo:hi], w.stored[lo:hi]) })
	}
	return g.Wait()
}

// storedParts is how many parts a sparse batch's stored enrichments are
// read in at once, and minStoredPart the fewest products a part has (a
// variable for tests).
const storedParts = 2

var minStoredPart = 500

// readStoredPart reads what is stored for batch's products into them
// and their provenance into stored (stored[i] is batch[i]'s).
func (a *Activities) readStoredPart(ctx context.Context, plan wf.Plan, batch []*enrich.Product, stored []map[string]provenance) error {
	if err := a.readTxFunc(ctx, func(tx pgx.Tx) error { return readStored(ctx, tx, plan, batch, stored) }); err != nil {
		return fmt.Errorf("read stored enrichments: %w", err)
	}
	return nil
}

func readBatchTx(ctx context.Context, tx pgx.Tx, plan wf.Plan, afterSupplier, afterSKU string) (*work, error) {
	w := &work{afterSupplier: afterSupplier, afterSKU: afterSKU}
	rows, err := tx.Query(ctx, batchOrder(plan), plan.TenantID, plan.SupplierCode, plan.From, len(plan.Stale) > 0,
		afterSupplier, afterSKU, plan.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	w.batch = make([]*enrich.Product, 0, plan.BatchSize)
	d := newProductDecoder(rows.FieldDescriptions(), plan.BatchSize)
	for rows.Next() {
		p, err := d.next(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		w.batch = append(w.batch, p)
	}
	return w, rows.Err()
}

type productKey struct{ supplier, sku string }

func readStored(ctx context.Context, tx pgx.Tx, plan wf.Plan, batch []*enrich.Product, stored []map[string]provenance) error {
	var suppliers []string
	minSKU, maxSKU := batch[0].SKU, batch[0].SKU
	for _, p := range batch {
		minSKU, maxSKU = min(minSKU, p.SKU), max(maxSKU, p.SKU)
		if !containsString(suppliers, p.SupplierCode) {
			suppliers = append(suppliers, p.SupplierCode)
		}
	}
	var rows pgx.Rows
	var err error
	switch {
	case dense(plan) && len(suppliers) <= 64:
		rows, err = tx.Query(ctx, storedRangeSQL, plan.TenantID, suppliers, minSKU, maxSKU)
	case len(suppliers) == 1:
		ks := make([]string, len(batch))
		for i, p := range batch {
			ks[i] = p.SKU
		}
		rows, err = tx.Query(ctx, storedSupplierKeysSQL, plan.TenantID, suppliers[0], ks)
	default:
		ss, ks := make([]string, len(batch)), make([]string, len(batch))
		for i, p := range batch {
			ss[i], ks[i] = p.SupplierCode, p.SKU
		}
		rows, err = tx.Query(ctx, storedKeysSQL, plan.TenantID, ss, ks)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	var k productKey
	var field string
	var value []byte // not json.RawMessage, which pgx would decode to validate
	var prov provenance
	// The index of the batch's products is built for the first row: a
	// first run reads none, and has no use for it.
	var index map[productKey]int
	d := newStoredDecoder(rows.FieldDescriptions())
	for rows.Next() {
		if err := d.next(rows, &k, &field, &value, &prov); err != nil {
			return err
		}
		if index == nil {
			index = make(map[productKey]int, len(batch))
			for i, p := range batch {
				index[productKey{p.SupplierCode, p.SKU}] = i
			}
		}
		i, ok := index[k]
		if !ok {
			continue // in the range, not in the batch
		}
		p := batch[i]
		if p.Stored == nil {
			p.Stored = make(map[string]json.RawMessage, 4)
			stored[i] = make(map[string]provenance, 4)
		}
		p.Stored[field] = value
		stored[i][field] = prov
	}
	return rows.Err()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
