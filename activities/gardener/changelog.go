package gardener

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// An incremental run whose window the harvest change log covers
// (product_changes, migration 0015) reads its changed products by key,
// from the log, instead of walking the partitions' keys for last_seen:
// at 1M products with a tenth changed, the walk read ten products for
// each one it kept, and a rerun with nothing changed read all of them to
// find none.

// changeLogSQL decides, when a run begins, whether it reads its window
// from the log: an incremental run without stale enrichers (one that
// reads changed products only), whose window starts no earlier than the
// tenant's horizon (the log holds every change after it), and with no
// first load of its scope in the window (logged without SKUs: any of the
// supplier's products may have changed), nor a harvest run of its scope
// begun by a worker that did not log (harvest_runs.logs_changes, 0016:
// workers upgraded one at a time) that may have merged in the window. Recorded once: a retry of Begin
// returns the same answer.
const changeLogSQL = `
UPDATE gardener_runs r SET change_log = coalesce(
	r.watermark_from IS NOT NULL AND cardinality(r.stale_enrichers) = 0
	AND r.watermark_from >= (SELECT max(h.complete_after) FROM product_changes_horizon h WHERE h.tenant_id IN ('', r.tenant_id))
	AND NOT EXISTS (SELECT 1 FROM product_changes c WHERE c.tenant_id = r.tenant_id
		AND (r.supplier_code = '' OR c.supplier_code = r.supplier_code) AND c.changed_at > r.watermark_from AND c.skus IS NULL)
	AND NOT EXISTS (SELECT 1 FROM harvest_runs h WHERE h.tenant_id = r.tenant_id
		AND (r.supplier_code = '' OR h.supplier_code = r.supplier_code) AND NOT h.logs_changes
		AND (h.finished_at IS NULL OR h.finished_at > r.watermark_from)),
	false)
WHERE r.run_id = $1 AND r.change_log IS NULL
RETURNING change_log`

// changesSQL reads the next at most $6 SKUs of the window from the log,
// after the cursor: entry $4, of whose SKUs $5 are taken. Entries come in
// id order, each with the slice of its SKUs the batch takes, the columns
// changed in each (NULL: not known), where the merge left each row (NULL:
// not known), and how far into the entry that slice ends. An entry holds at most 5,000
// SKUs (see harvest's changeChunk), so a batch reads one or two arrays,
// however large the window. Like the walk, the window has no end: a change
// logged after the run began is read too (and again by the next run).
const changesSQL = `
WITH e AS (
	SELECT id, supplier_code, n, CASE WHEN id = $4 THEN $5 ELSE 0 END AS pos
	FROM product_changes
	WHERE tenant_id = $1 AND ($2::text = '' OR supplier_code = $2) AND changed_at > $3 AND id >= $4 AND skus IS NOT NULL
	ORDER BY id LIMIT $6::int + 1
), t AS (
	SELECT id, supplier_code, pos,
		least(n, pos + $6::int - coalesce(sum(n - pos) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::int AS upto
	FROM e
)
SELECT t.id, t.supplier_code, t.upto, c.skus[t.pos + 1 : t.upto], c.fields[t.pos + 1 : t.upto], c.tids[t.pos + 1 : t.upto]
FROM t JOIN product_changes c ON c.id = t.id
WHERE t.upto > t.pos
ORDER BY t.id`

// changedProductsSQL reads a supplier's changed products by key, with
// batchSQL's columns (which may use its $1 to $3: the tenant, the
// supplier and the window's start), so the decoder reads both alike.
func changedProductsSQL() string {
	columns, _, ok := strings.Cut(batchSQL, "FROM products p")
	if !ok {
		panic("gardener: batchSQL no longer reads FROM products p: changedProductsSQL must take its columns otherwise")
	}
	return columns + `FROM products p
WHERE p.tenant_id = $1 AND p.supplier_code = $2 AND p.sku = ANY ($4::text[]) AND p.active AND p.last_seen > $3
ORDER BY p.sku`
}

// changedProducts is changedProductsSQL, built once.
var changedProducts = changedProductsSQL()

// changedProductsAtSQL reads a supplier's changed products where the
// merges that logged them left them ($4, their row addresses): a fetch a
// product, where a read by key descends the primary key first (a third of
// the cost at 5,000 keys). An address may hold another row since (the
// product changed again, or its page was vacuumed and reused, or the table
// rewritten): the reader keeps the rows of the SKUs it asked for, each
// current (the snapshot's), and reads the SKUs it did not find by key.
var changedProductsAt = func() string {
	columns, _, _ := strings.Cut(changedProducts, "FROM products p")
	return columns + `FROM products p
WHERE p.tenant_id = $1 AND p.supplier_code = $2 AND p.ctid = ANY ($4::tid[]) AND p.active AND p.last_seen > $3`
}()

// readChangesTx reads the batch of a logged run after w's cursor: the
// next plan.BatchSize SKUs of the log, then those of them that are still
// active products, by key, but for those none of whose changed columns is
// in need (the columns the run's enrichers read): w.skipped counts them. A
// SKU logged twice (changed by two harvests of the window) is read once in
// a batch, and again in a later batch when its entries fall in two:
// processing it twice writes nothing the second time. When none of a
// batch's SKUs is to be read, it reads on: an empty batch means the window
// is done.
//
// A long stretch of the log with nothing to read (a feed that changed
// every price) ends a batch after maxEmptyReads reads with w.more set: its
// commit advances the cursor past the SKUs skipped so far, and the
// activity heartbeats, as after any batch.
func readChangesTx(ctx context.Context, tx pgx.Tx, plan wf.Plan, need prodfields.Set, w *work) error {
	w.batch = make([]*enrich.Product, 0, plan.BatchSize)
	w.nextChange, w.nextPos = w.afterChange, w.afterPos
	for reads := 0; len(w.batch) == 0; reads++ {
		if reads == maxEmptyReads {
			w.more = true
			return nil
		}
		keys, skipped, err := nextChanges(ctx, tx, plan, need, w)
		w.skipped += skipped
		if err != nil || len(keys) == 0 && skipped == 0 {
			return err
		}
		for _, k := range keys {
			if err := readChanged(ctx, tx, plan, k, w); err != nil {
				return fmt.Errorf("read changed products: %w", err)
			}
		}
	}
	// The walk's order: products' key order.
	slices.SortFunc(w.batch, func(a, b *enrich.Product) int {
		return cmp.Or(cmp.Compare(a.SKU, b.SKU), cmp.Compare(a.SupplierCode, b.SupplierCode))
	})
	return nil
}

// maxEmptyReads is how many reads of the log (of up to a batch of SKUs
// each, a few milliseconds) a batch takes at most without finding a
// product to read; a variable for tests.
var maxEmptyReads = 50

// readChanged appends k's products to w's batch, each with the columns
// known not to have changed in it (enrich.Product.Unchanged): those whose
// row address was logged by that address, the others (and those not found
// there) by key.
func readChanged(ctx context.Context, tx pgx.Tx, plan wf.Plan, k supplierSKUs, w *work) error {
	// The SKUs still to read, with the columns that changed in each.
	pending := make(map[string]prodfields.Set, len(k.skus))
	for i, sku := range k.skus {
		pending[sku] = k.changed[i]
	}
	take := func(p *enrich.Product) bool {
		c, ok := pending[p.SKU]
		if !ok {
			return false // another product's row now (at an address), or read already
		}
		delete(pending, p.SKU)
		if c != prodfields.All {
			p.Unchanged = prodfields.All &^ c
		}
		return true
	}
	byKey := k.skus
	if tids := k.knownTIDs(); len(tids) > 0 {
		before := len(w.batch)
		if err := readProducts(ctx, tx, changedProductsAt, []any{plan.TenantID, k.supplier, plan.From, tids}, len(tids), take, w); err != nil {
			return err
		}
		w.atAddress += len(w.batch) - before
		if len(pending) == 0 {
			return nil
		}
		byKey = make([]string, 0, len(pending))
		for _, sku := range k.skus { // in order, for the index scan
			if _, ok := pending[sku]; ok {
				byKey = append(byKey, sku)
			}
		}
	}
	return readProducts(ctx, tx, changedProducts, []any{plan.TenantID, k.supplier, plan.From, byKey}, len(byKey), take, w)
}

// readProducts appends the products sql reads to w's batch that keep
// accepts.
func readProducts(ctx context.Context, tx pgx.Tx, sql string, args []any, n int, keep func(*enrich.Product) bool, w *work) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	d := newProductDecoder(rows.FieldDescriptions(), n)
	for rows.Next() {
		p, err := d.next(rows)
		if err != nil {
			return err
		}
		if keep(p) {
			w.batch = append(w.batch, p)
		}
	}
	return rows.Err()
}

// supplierSKUs are a batch's logged SKUs of one supplier, sorted, each
// once (for the index scan of changedProductsSQL, which reads each key
// once however often = ANY names it, and sorts them too).
type supplierSKUs struct {
	supplier string
	skus     []string
	// changed[i] is the columns changed in skus[i] (of all its entries
	// the batch takes), tids[i] where the last of those entries' merges
	// left its row (not Valid: not known).
	changed []prodfields.Set
	tids    []pgtype.TID
}

// knownTIDs returns the row addresses s knows.
func (s *supplierSKUs) knownTIDs() []pgtype.TID {
	var out []pgtype.TID
	for _, t := range s.tids {
		if t.Valid {
			out = append(out, t)
		}
	}
	return out
}

// nextChanges takes the next SKUs of the log after w's next cursor and
// advances it past them. It returns those whose changed columns meet need,
// and how many it skipped. None of either: the log of the window is read.
func nextChanges(ctx context.Context, tx pgx.Tx, plan wf.Plan, need prodfields.Set, w *work) ([]supplierSKUs, int64, error) {
	rows, err := tx.Query(ctx, changesSQL, plan.TenantID, plan.SupplierCode, plan.From, w.nextChange, w.nextPos, plan.BatchSize)
	if err != nil {
		return nil, 0, fmt.Errorf("read change log: %w", err)
	}
	defer rows.Close()
	bySupplier := map[string]int{}
	var out []supplierSKUs
	var supplier string
	var skus []string
	var fields []*int32
	var tids []pgtype.TID
	for rows.Next() {
		if err := rows.Scan(&w.nextChange, &supplier, &w.nextPos, &skus, &fields, &tids); err != nil {
			return nil, 0, fmt.Errorf("read change log: %w", err)
		}
		i, ok := bySupplier[supplier]
		if !ok {
			i = len(out)
			bySupplier[supplier] = i
			out = append(out, supplierSKUs{supplier: supplier})
		}
		out[i].skus = append(out[i].skus, skus...)
		for k := range skus {
			changed := prodfields.All // an entry logged without columns
			if k < len(fields) {
				changed = prodfields.FromStored(fields[k])
			}
			var tid pgtype.TID // an entry logged without addresses
			if k < len(tids) {
				tid = tids[k]
			}
			out[i].changed, out[i].tids = append(out[i].changed, changed), append(out[i].tids, tid)
		}
		skus, fields, tids = nil, nil, nil
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read change log: %w", err)
	}
	var skipped int64
	kept := out[:0]
	for _, s := range out {
		n := s.keep(need)
		skipped += int64(n)
		if len(s.skus) > 0 {
			kept = append(kept, s)
		}
	}
	return kept, skipped, nil
}

// keep sorts s's SKUs, merges the columns of a SKU logged more than once
// (and takes the address of its last entry), and keeps the SKUs whose
// changed columns meet need. It returns how many it dropped.
func (s *supplierSKUs) keep(need prodfields.Set) int {
	order := make([]int, len(s.skus))
	for i := range order {
		order[i] = i
	}
	// Stable: of a SKU's entries, the last (in log order) comes last.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s.skus[a], s.skus[b]) })
	skus := make([]string, 0, len(s.skus))
	changed := make([]prodfields.Set, 0, len(s.skus))
	tids := make([]pgtype.TID, 0, len(s.skus))
	for _, i := range order {
		if n := len(skus); n > 0 && skus[n-1] == s.skus[i] {
			changed[n-1] |= s.changed[i]
			tids[n-1] = s.tids[i]
			continue
		}
		skus, changed, tids = append(skus, s.skus[i]), append(changed, s.changed[i]), append(tids, s.tids[i])
	}
	s.skus, s.tids, s.changed = skus[:0], tids[:0], changed[:0]
	dropped := 0
	for i, sku := range skus {
		// Every column: read whatever the enrichers declare, even none.
		if changed[i] == prodfields.All || changed[i].Has(need) {
			s.skus, s.tids, s.changed = append(s.skus, sku), append(s.tids, tids[i]), append(s.changed, changed[i])
		} else {
			dropped++
		}
	}
	return dropped
}

// trimChangeLog deletes the tenant's log entries no run of it needs any
// more, in Finish's transaction once the scope's watermark advanced:
// those no later than every scope's watermark less the overlap (where the
// next run of each scope starts), or older than the retention. The
// tenant's horizon moves to the cut in the same transaction, so a run
// whose window starts before it (a scope that has not run for longer than
// the retention, or an overlap configured longer since) walks instead.
func trimChangeLog(ctx context.Context, tx pgx.Tx, tenant string, overlap, retention time.Duration) error {
	_, err := tx.Exec(ctx, `WITH cut AS (
			SELECT greatest(min(w.last_seen_upto) - $2::interval, CASE WHEN $3::interval > '0'::interval THEN now() - $3::interval END) AS at
			FROM gardener_watermarks w WHERE w.tenant_id = $1
		), gone AS (
			DELETE FROM product_changes c USING cut WHERE c.tenant_id = $1 AND c.changed_at <= cut.at
		)
		INSERT INTO product_changes_horizon AS h (tenant_id, complete_after) SELECT $1, at FROM cut WHERE at IS NOT NULL
		ON CONFLICT (tenant_id) DO UPDATE SET complete_after = excluded.complete_after WHERE h.complete_after < excluded.complete_after`,
		tenant, overlap, retention)
	if err != nil {
		return fmt.Errorf("trim the change log: %w", err)
	}
	return nil
}
