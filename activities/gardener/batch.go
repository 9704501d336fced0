package gardener

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/heartbeat"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// batchSQL reads the next batch after the cursor, by keyset on the primary
// key (sku, supplier_code, tenant_id; the tenant is fixed), so the scan
// resumes where it stopped, whatever the size, with the product's stored
// enrichments. Without stale enrichers only products changed since the
// window's start are read. %s is the keyset order: see batchOrder.
const batchSQL = `
SELECT p.supplier_code, p.sku, p.name, p.description, p.brand, coalesce(p.gtin, ''), p.price::float8, p.currency,
	p.stock, p.availability, p.category_path, p.image_urls, p.attributes, p.content_hash, p.last_seen,
	($3::timestamptz IS NULL OR p.last_seen > $3) AS changed, coalesce(s.stored, '{}')
FROM products p
LEFT JOIN LATERAL (
	SELECT jsonb_object_agg(e.field, e.value) AS stored FROM enrichments e
	WHERE e.tenant_id = p.tenant_id AND e.supplier_code = p.supplier_code AND e.sku = p.sku
) s ON true
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

// upsertSQL writes the batch's results; a value (and provenance) equal to
// the stored one is not written, so a rerun over unchanged products writes
// nothing.
const upsertSQL = `
WITH up AS (
	INSERT INTO enrichments AS e (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
	SELECT $1, supplier_code, sku, field, value, enricher, enricher_version, $2 FROM gardener_out
	ON CONFLICT (tenant_id, supplier_code, sku, field) DO UPDATE SET value = excluded.value, enricher = excluded.enricher,
		enricher_version = excluded.enricher_version, run_id = excluded.run_id, updated_at = now()
	WHERE e.value IS DISTINCT FROM excluded.value OR e.enricher IS DISTINCT FROM excluded.enricher
		OR e.enricher_version IS DISTINCT FROM excluded.enricher_version
	RETURNING 1
)
SELECT count(*) FROM up`

// deleteSQL removes fields an enricher that ran on a product no longer
// produces for it (the brand was removed, the stock is back), except the
// fields its set-based pass owns.
const deleteSQL = `
DELETE FROM enrichments e USING gardener_ran r
WHERE e.tenant_id = $1 AND e.supplier_code = r.supplier_code AND e.sku = r.sku AND e.enricher = r.enricher
	AND NOT (e.field = ANY ($2::text[]))
	AND NOT EXISTS (SELECT 1 FROM gardener_out o WHERE o.supplier_code = e.supplier_code AND o.sku = e.sku AND o.field = e.field)`

// Enrich processes batches from the run's checkpoint until the window is
// exhausted or plan.BatchesPerActivity batches are done, and returns the
// run's totals. Each batch is one transaction that holds the run row's
// lock, writes the results and tallies, and advances the checkpoint: a
// crash loses at most the uncommitted batch, which the retry redoes, and
// two attempts running at once (a zombie) serialise on the lock and never
// count a batch twice.
func (a *Activities) Enrich(ctx context.Context, plan wf.Plan) (wf.EnrichResult, error) {
	if err := a.checkVersions(plan); err != nil {
		return wf.EnrichResult{}, err
	}
	var keep []string
	for _, st := range a.Pipeline.Steps() {
		if f, ok := st.Enricher.(enrich.Finisher); ok {
			keep = append(keep, f.FinishFields()...)
		}
	}
	var res wf.EnrichResult
	for range plan.BatchesPerActivity {
		var err error
		if res, err = a.batch(ctx, plan, keep); err != nil {
			return wf.EnrichResult{}, fmt.Errorf("enrich: batch after %s/%s: %w", res.CursorSupplier, res.CursorSKU, err)
		}
		heartbeat.Record(ctx, res)
		if res.Done {
			break
		}
	}
	return res, nil
}

func (a *Activities) batch(ctx context.Context, plan wf.Plan, keep []string) (wf.EnrichResult, error) {
	var res wf.EnrichResult
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT done, cursor_supplier, cursor_sku, batches, processed, written, deleted
			FROM gardener_runs WHERE run_id = $1 FOR UPDATE`, plan.RunID).Scan(
			&res.Done, &res.CursorSupplier, &res.CursorSKU, &res.Batches, &res.Processed, &res.Written, &res.Deleted); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if res.Done {
			return nil
		}
		batch, err := a.read(ctx, tx, plan, res.CursorSupplier, res.CursorSKU)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			res.Done = true
			_, err := tx.Exec(ctx, `UPDATE gardener_runs SET done = true WHERE run_id = $1`, plan.RunID)
			return err
		}
		t0 := time.Now()
		run := enrich.Run{ID: plan.RunID, TenantID: plan.TenantID, SupplierCode: plan.SupplierCode, Now: plan.To}
		out, err := a.Pipeline.Run(ctx, run, batch, plan.Stale)
		if err != nil {
			return err
		}
		t1 := time.Now()
		written, deleted, err := a.write(ctx, tx, plan, batch, out, keep)
		if err != nil {
			return err
		}
		last := batch[len(batch)-1]
		res.CursorSupplier, res.CursorSKU = last.SupplierCode, last.SKU
		res.Batches++
		res.Processed += int64(len(batch))
		res.Written += written
		res.Deleted += deleted
		_, err = tx.Exec(ctx, `UPDATE gardener_runs SET cursor_supplier = $2, cursor_sku = $3, batches = $4, processed = $5,
				written = $6, deleted = $7, enrich_ms = enrich_ms + $8, write_ms = write_ms + $9
			WHERE run_id = $1`, plan.RunID, res.CursorSupplier, res.CursorSKU, res.Batches, res.Processed, res.Written, res.Deleted,
			t1.Sub(t0).Milliseconds(), time.Since(t1).Milliseconds())
		return err
	})
	return res, err
}

func (a *Activities) read(ctx context.Context, tx pgx.Tx, plan wf.Plan, afterSupplier, afterSKU string) ([]*enrich.Product, error) {
	rows, err := tx.Query(ctx, batchOrder(plan), plan.TenantID, plan.SupplierCode, plan.From, len(plan.Stale) > 0,
		afterSupplier, afterSKU, plan.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	defer rows.Close()
	batch := make([]*enrich.Product, 0, plan.BatchSize)
	for rows.Next() {
		p := new(enrich.Product)
		if err := rows.Scan(&p.SupplierCode, &p.SKU, &p.Name, &p.Description, &p.Brand, &p.GTIN, &p.Price, &p.Currency,
			&p.Stock, &p.Availability, &p.CategoryPath, &p.ImageURLs, &p.Attributes, &p.ContentHash, &p.LastSeen,
			&p.Changed, &p.Stored); err != nil {
			return nil, fmt.Errorf("read batch: %w", err)
		}
		batch = append(batch, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	return batch, nil
}

// write copies the batch's results and the (product, enricher) pairs that
// ran into temporary tables, then upserts and prunes with one statement
// each, and adds the tallies.
func (a *Activities) write(ctx context.Context, tx pgx.Tx, plan wf.Plan, batch []*enrich.Product, out enrich.Outcome, keep []string) (written, deleted int64, err error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE gardener_out (supplier_code text, sku text, field text, value jsonb,
			enricher text, enricher_version text, PRIMARY KEY (supplier_code, sku, field)) ON COMMIT DROP;
		CREATE TEMP TABLE gardener_ran (supplier_code text, sku text, enricher text) ON COMMIT DROP`); err != nil {
		return 0, 0, fmt.Errorf("write: %w", err)
	}
	var results [][]any
	for _, p := range batch {
		rs := p.Results()
		for i, r := range rs {
			if superseded(rs[i+1:], r.Field) {
				continue // a later enricher wrote the same field: it wins
			}
			results = append(results, []any{p.SupplierCode, p.SKU, r.Field, string(r.Value), r.Enricher, r.Version})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gardener_out"},
		[]string{"supplier_code", "sku", "field", "value", "enricher", "enricher_version"}, pgx.CopyFromRows(results)); err != nil {
		return 0, 0, fmt.Errorf("write: copy results: %w", err)
	}
	ran := make([][]any, len(out.Ran))
	for i, r := range out.Ran {
		p := batch[r.Index]
		ran[i] = []any{p.SupplierCode, p.SKU, r.Enricher}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gardener_ran"}, []string{"supplier_code", "sku", "enricher"}, pgx.CopyFromRows(ran)); err != nil {
		return 0, 0, fmt.Errorf("write: copy ran: %w", err)
	}
	// Fresh temporary tables have no statistics; without them the planner
	// nests loops over the prune's anti-join: quadratic in the batch.
	if _, err := tx.Exec(ctx, `ANALYZE gardener_out; ANALYZE gardener_ran`); err != nil {
		return 0, 0, fmt.Errorf("write: analyze: %w", err)
	}
	if err := tx.QueryRow(ctx, upsertSQL, plan.TenantID, plan.RunID).Scan(&written); err != nil {
		return 0, 0, fmt.Errorf("write: upsert: %w", err)
	}
	if keep == nil {
		keep = []string{}
	}
	tag, err := tx.Exec(ctx, deleteSQL, plan.TenantID, keep)
	if err != nil {
		return 0, 0, fmt.Errorf("write: prune: %w", err)
	}
	if len(out.Tallies) > 0 {
		var names, keys []string
		var counts []int64
		for t, n := range out.Tallies {
			names, keys, counts = append(names, t.Name), append(keys, t.Key), append(counts, n)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO gardener_tallies AS t (run_id, name, key, count)
			SELECT $1, n, k, c FROM unnest($2::text[], $3::text[], $4::bigint[]) AS x(n, k, c)
			ON CONFLICT (run_id, name, key) DO UPDATE SET count = t.count + excluded.count`,
			plan.RunID, names, keys, counts); err != nil {
			return 0, 0, fmt.Errorf("write: tallies: %w", err)
		}
	}
	return written, tag.RowsAffected(), nil
}

func superseded(later []enrich.Result, field string) bool {
	for _, r := range later {
		if r.Field == field {
			return true
		}
	}
	return false
}
