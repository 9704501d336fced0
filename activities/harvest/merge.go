package harvest

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	wf "contextworker/workflows/harvest"
)

// mergeSQL upserts one partition of the staging table into products. The
// last occurrence of a SKU in the feed wins (DISTINCT ON … row_no DESC). A
// row whose content hash is unchanged, and that is active, is not written at
// all: the WHERE on DO UPDATE skips it, so a repeated run rewrites nothing.
const mergeSQL = `
WITH src AS (
	SELECT DISTINCT ON (sku) sku, name, coalesce(description, '') AS description, coalesce(brand, '') AS brand, gtin,
		price, currency, stock, availability, coalesce(category_path, '{}') AS category_path, product_url,
		coalesce(image_urls, '{}') AS image_urls, coalesce(attributes, '{}') AS attributes, content_hash
	FROM %s WHERE part = $1 ORDER BY sku, row_no DESC
), up AS (
	INSERT INTO products AS p (tenant_id, supplier_code, sku, name, description, brand, gtin, price, currency, stock,
		availability, category_path, product_url, image_urls, attributes, content_hash, first_seen, last_seen, last_run_id, active)
	SELECT $2, $3, sku, name, description, brand, gtin, price, currency, stock, availability, category_path, product_url,
		image_urls, attributes, content_hash, now(), now(), $4, true FROM src
	ON CONFLICT (tenant_id, supplier_code, sku) DO UPDATE SET
		name = excluded.name, description = excluded.description, brand = excluded.brand, gtin = excluded.gtin,
		price = excluded.price, currency = excluded.currency, stock = excluded.stock, availability = excluded.availability,
		category_path = excluded.category_path, product_url = excluded.product_url, image_urls = excluded.image_urls,
		attributes = excluded.attributes, content_hash = excluded.content_hash, last_seen = excluded.last_seen,
		last_run_id = excluded.last_run_id, active = true
	WHERE p.content_hash IS DISTINCT FROM excluded.content_hash OR NOT p.active
	RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`

// Merge upserts partition part of the run's staging table into products and
// records the counts in harvest_parts in the same transaction. A retry of a
// merged partition returns the recorded counts and writes nothing.
func (a *Activities) Merge(ctx context.Context, plan wf.Plan, part int) (wf.MergeResult, error) {
	res := wf.MergeResult{Part: part}
	defer keepAlive(ctx, part)()
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT inserted, updated, unchanged FROM harvest_parts WHERE run_id = $1 AND part = $2`,
			plan.RunID, part).Scan(&res.Inserted, &res.Updated, &res.Unchanged)
		if err == nil {
			return nil // merged by an earlier attempt
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var total int64
		if err := tx.QueryRow(ctx, fmt.Sprintf(mergeSQL, stageTable(plan.RunID)), part, plan.TenantID, plan.SupplierCode, plan.RunID).
			Scan(&total, &res.Inserted, &res.Updated); err != nil {
			return err
		}
		res.Unchanged = total - res.Inserted - res.Updated
		_, err = tx.Exec(ctx, `INSERT INTO harvest_parts (run_id, part, inserted, updated, unchanged) VALUES ($1, $2, $3, $4, $5)`,
			plan.RunID, part, res.Inserted, res.Updated, res.Unchanged)
		return err
	})
	if err != nil {
		return wf.MergeResult{}, fmt.Errorf("merge partition %d: %w", part, err)
	}
	return res, nil
}

// Deactivate marks the supplier's active products that are missing from this
// complete run as inactive (never deleting them). When that is more than
// plan.MaxDeactivateShare of the active products and the request is not
// approved, it changes nothing and reports NeedsApproval. Idempotent: once
// done, it returns the recorded count.
func (a *Activities) Deactivate(ctx context.Context, req wf.DeactivateRequest) (wf.DeactivateResult, error) {
	plan := req.Plan
	var res wf.DeactivateResult
	defer keepAlive(ctx)()
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT deactivated_at IS NOT NULL, deactivated FROM harvest_runs WHERE run_id = $1 FOR UPDATE`,
			plan.RunID).Scan(&done, &res.Deactivated); err != nil {
			return err
		}
		if done {
			return nil
		}
		// products' statistics lag behind a big first harvest, and the
		// planner then picks a nested loop over the staging table for the
		// anti-join below: quadratic. A hash anti-join is linear.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		missingSQL := fmt.Sprintf(`FROM products p WHERE p.tenant_id = $1 AND p.supplier_code = $2 AND p.active
			AND NOT EXISTS (SELECT 1 FROM %s s WHERE s.sku = p.sku)`, stageTable(plan.RunID))
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM products WHERE tenant_id = $1 AND supplier_code = $2 AND active`,
			plan.TenantID, plan.SupplierCode).Scan(&res.ActiveBefore); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) `+missingSQL, plan.TenantID, plan.SupplierCode).Scan(&res.Missing); err != nil {
			return err
		}
		if res.ActiveBefore > 0 {
			res.Share = float64(res.Missing) / float64(res.ActiveBefore)
		}
		if res.Share > plan.MaxDeactivateShare && !req.Approved {
			res.NeedsApproval = true
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE products p SET active = false, last_run_id = $3 `+
			missingSQL[len("FROM products p "):], plan.TenantID, plan.SupplierCode, plan.RunID)
		if err != nil {
			return err
		}
		res.Deactivated = tag.RowsAffected()
		_, err = tx.Exec(ctx, `UPDATE harvest_runs SET deactivated = $2, deactivated_at = now(), merged_at = coalesce(merged_at, now()) WHERE run_id = $1`,
			plan.RunID, res.Deactivated)
		return err
	})
	if err != nil {
		return wf.DeactivateResult{}, fmt.Errorf("deactivate: %w", err)
	}
	return res, nil
}
