package harvest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"

	"contextworker/internal/heartbeat"
	"contextworker/internal/prodfields"
	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// mergeSQL upserts the changed rows of one staging partition into
// products. A row whose content hash is unchanged, and that is active, is
// not written at all (the WHERE on DO UPDATE), so a repeated run rewrites
// nothing; rows staged slim (unchanged = true) are not even read. With
// duplicates possible, the last occurrence of a SKU in the feed wins.
// activated_at is when the product last became active: set when it is
// inserted or reactivated, kept on other updates (its old last_seen when
// not recorded: the product was active since then at least).
// changed_fields is the columns the update changed (package prodfields),
// for the change log; NULL for an inserted or reactivated product, whose
// every column counts as changed, and for a change in none of the columns
// prodfields knows (a column added since, say).
var mergeSQL = `
WITH src AS (
	SELECT sku, name, coalesce(description, '') AS description, coalesce(brand, '') AS brand, gtin,
		price, currency, stock, availability, coalesce(category_path, '{}') AS category_path, product_url,
		coalesce(image_urls, '{}') AS image_urls, coalesce(attributes, '{}') AS attributes, content_hash, source_key
	FROM %s s WHERE NOT unchanged
), up AS (
	INSERT INTO products AS p (tenant_id, supplier_code, sku, name, description, brand, gtin, price, currency, stock,
		availability, category_path, product_url, image_urls, attributes, content_hash, source_key, first_seen, last_seen, last_run_id, active,
		activated_at)
	SELECT $1, $2, sku, name, description, brand, gtin, price, currency, stock, availability, category_path, product_url,
		image_urls, attributes, content_hash, source_key, now(), now(), $3, true, now() FROM src
	ON CONFLICT (tenant_id, supplier_code, sku) DO UPDATE SET
		name = excluded.name, description = excluded.description, brand = excluded.brand, gtin = excluded.gtin,
		price = excluded.price, currency = excluded.currency, stock = excluded.stock, availability = excluded.availability,
		category_path = excluded.category_path, product_url = excluded.product_url, image_urls = excluded.image_urls,
		attributes = excluded.attributes, content_hash = excluded.content_hash, source_key = excluded.source_key, last_seen = excluded.last_seen,
		last_run_id = excluded.last_run_id, active = true,
		activated_at = CASE WHEN p.active THEN coalesce(p.activated_at, p.last_seen) ELSE excluded.activated_at END,
		changed_fields = CASE WHEN p.active THEN nullif(` + prodfields.ChangedSQL("p", "excluded") + `, 0) END
	WHERE left(p.content_hash, ` + storedHash + `) IS DISTINCT FROM left(excluded.content_hash, ` + storedHash + `) OR NOT p.active
	RETURNING (xmax = 0) AS inserted, sku, changed_fields, ctid
), logged AS (
	` + logChangesSQL + `
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`

// storedHash is product.StoredHashDigits in SQL: the merge compares that
// many digits, as a row written before keeps all 64.
var storedHash = strconv.Itoa(product.StoredHashDigits)

// logChangesSQL logs the SKUs the merge's up wrote in product_changes
// (migration 0015), in entries of changeChunk, with the now() it wrote to
// their last_seen, the columns each one's update changed and the address
// of the row it wrote (0019; the aggregates take the rows of a chunk in the
// same order). Nothing written, no entry: an unchanged re-harvest
// writes no row at all. The SKUs are not sorted: their reader sorts a
// batch's SKUs anyway (and so does an index scan for = ANY), and sorting
// them here more than doubled the log's cost to a merge (20 ms against
// 8 ms per 12,500 changed SKUs).
const logChangesSQL = `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id, n, skus, fields, tids)
	SELECT $1, $2, now(), $3, count(*), array_agg(sku), array_agg(changed_fields), array_agg(ctid)
	FROM (SELECT sku, changed_fields, ctid, (row_number() OVER () - 1) / ` + changeChunk + ` AS chunk FROM up) c
	GROUP BY chunk`

// changeChunk is how many SKUs one product_changes entry holds at most: a
// gardener batch (5,000 products by default) reads one or two entries'
// arrays, never one the size of a whole re-harvest.
const changeChunk = "5000"

// logAllChangedSQL logs a first load: its rows went in by COPY or a plain
// insert, so any product of the supplier may have changed (skus NULL), at
// %s: no earlier than the last_seen they carry.
const logAllChangedSQL = `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id) SELECT $1, $2, %s, $3`

// insertSQL is mergeSQL for a supplier's first load: nothing to conflict
// with (one harvest per supplier runs at a time), so plain inserts, which
// skip the speculative-insertion work of ON CONFLICT.
const insertSQL = `
INSERT INTO products (tenant_id, supplier_code, sku, name, description, brand, gtin, price, currency, stock,
	availability, category_path, product_url, image_urls, attributes, content_hash, source_key, first_seen, last_seen, last_run_id, active,
	activated_at)
SELECT $1, $2, sku, name, coalesce(description, ''), coalesce(brand, ''), gtin, price, currency, stock, availability,
	coalesce(category_path, '{}'), product_url, coalesce(image_urls, '{}'), coalesce(attributes, '{}'), content_hash, source_key,
	now(), now(), $3, true, now()
FROM %s s WHERE NOT unchanged`

// lastOccurrence keeps the last row of each SKU of a partition.
const lastOccurrence = `(SELECT DISTINCT ON (sku) * FROM %s ORDER BY sku, row_no DESC)`

// rejectDuplicates records every superseded occurrence of a SKU.
const rejectDuplicates = `INSERT INTO harvest_rejects (run_id, row_no, sku, reason, raw)
	SELECT $1, row_no, sku, 'sku: duplicate, superseded by row ' || keep, '' FROM (
		SELECT row_no, sku, max(row_no) OVER (PARTITION BY sku) AS keep FROM %s) d
	WHERE row_no < keep ON CONFLICT (run_id, row_no) DO NOTHING`

// Merge upserts partition part of the run's staging table into products and
// records the counts in harvest_parts in the same transaction. A retry of a
// merged partition returns the recorded counts and writes nothing.
func (a *Activities) Merge(ctx context.Context, plan wf.Plan, part int) (wf.MergeResult, error) {
	res := wf.MergeResult{Part: part}
	defer heartbeat.KeepAlive(ctx, part)()
	start := time.Now()
	defer func() {
		activity.GetLogger(ctx).Info("merged partition", "part", part, "took", time.Since(start).String())
	}()
	child := stagePart(plan.RunID, part)
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT inserted, updated, unchanged FROM harvest_parts WHERE run_id = $1 AND part = $2`,
			plan.RunID, part).Scan(&res.Inserted, &res.Updated, &res.Unchanged)
		if err == nil {
			return nil // merged by an earlier attempt
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// loaded: a first load that Stage put straight into products (an
		// older worker staged it like any other run).
		var dups, firstLoad, loaded bool
		if err := tx.QueryRow(ctx, `SELECT may_have_duplicates, first_load, first_load AND active_before IS NOT NULL FROM harvest_runs WHERE run_id = $1`,
			plan.RunID).Scan(&dups, &firstLoad, &loaded); err != nil {
			return err
		}
		if loaded {
			// nothing staged to merge
			_, err := tx.Exec(ctx, `INSERT INTO harvest_parts (run_id, part, inserted, updated, unchanged, duplicates, slim)
				VALUES ($1, $2, 0, 0, 0, 0, 0)`, plan.RunID, part)
			return err
		}
		source := child
		var duplicates int64
		if dups {
			tag, err := tx.Exec(ctx, fmt.Sprintf(rejectDuplicates, child), plan.RunID)
			if err != nil {
				return err
			}
			duplicates = tag.RowsAffected()
			source = fmt.Sprintf(lastOccurrence, child)
		}
		var changed, slim int64
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE NOT unchanged), count(*) FILTER (WHERE unchanged) FROM %s s`, source)).
			Scan(&changed, &slim); err != nil {
			return err
		}
		switch {
		case changed > 0 && firstLoad:
			tag, err := tx.Exec(ctx, fmt.Sprintf(insertSQL, source), plan.TenantID, plan.SupplierCode, plan.RunID)
			if err != nil {
				return err
			}
			res.Inserted = tag.RowsAffected()
			if res.Inserted > 0 {
				if _, err := tx.Exec(ctx, fmt.Sprintf(logAllChangedSQL, "now()"), plan.TenantID, plan.SupplierCode, plan.RunID); err != nil {
					return fmt.Errorf("log changes: %w", err)
				}
			}
		case changed > 0:
			if err := tx.QueryRow(ctx, fmt.Sprintf(mergeSQL, source), plan.TenantID, plan.SupplierCode, plan.RunID).
				Scan(&res.Inserted, &res.Updated); err != nil {
				return err
			}
		}
		res.Unchanged = slim + changed - res.Inserted - res.Updated
		_, err = tx.Exec(ctx, `INSERT INTO harvest_parts (run_id, part, inserted, updated, unchanged, duplicates, slim) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			plan.RunID, part, res.Inserted, res.Updated, res.Unchanged, duplicates, slim)
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
	defer heartbeat.KeepAlive(ctx)()
	start := time.Now()
	defer func() { activity.GetLogger(ctx).Info("deactivation", "took", time.Since(start).String()) }()
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var done bool
		var activeBefore, missing *int64
		if err := tx.QueryRow(ctx, `SELECT deactivated_at IS NOT NULL, deactivated, active_before, missing, length_undeclared
			FROM harvest_runs WHERE run_id = $1 FOR UPDATE`,
			plan.RunID).Scan(&done, &res.Deactivated, &activeBefore, &missing, &res.LengthUndeclared); err != nil {
			return err
		}
		res.Limit = plan.MaxDeactivateShare
		if res.LengthUndeclared && plan.MaxDeactivateShareUndeclared != nil {
			res.Limit = min(res.Limit, *plan.MaxDeactivateShareUndeclared)
		}
		if done {
			return nil
		}
		if req.CheckOnly && missing == nil {
			res.Unknown = true // staged by an old worker: decided after merging
			return nil
		}
		// deactivateSQL marks the missing products inactive.
		var deactivateSQL string
		if missing != nil {
			// Staging counted and listed them (harvest_missing).
			res.ActiveBefore, res.Missing = *activeBefore, *missing
			deactivateSQL = `UPDATE products p SET active = false, last_run_id = $3 FROM harvest_missing m
				WHERE m.run_id = $3 AND p.tenant_id = $1 AND p.supplier_code = $2 AND p.sku = m.sku AND p.active`
		} else {
			var err error
			if deactivateSQL, err = legacyMissing(ctx, tx, plan, &res); err != nil {
				return err
			}
		}
		if res.ActiveBefore > 0 {
			res.Share = float64(res.Missing) / float64(res.ActiveBefore)
		}
		if res.Share > res.Limit && !req.Approved {
			res.NeedsApproval = true
			return nil
		}
		if req.CheckOnly {
			return nil
		}
		if res.Missing > 0 {
			tag, err := tx.Exec(ctx, deactivateSQL, plan.TenantID, plan.SupplierCode, plan.RunID)
			if err != nil {
				return err
			}
			res.Deactivated = tag.RowsAffected()
		}
		_, err := tx.Exec(ctx, `UPDATE harvest_runs SET deactivated = $2, deactivated_at = now(), merged_at = coalesce(merged_at, now()) WHERE run_id = $1`,
			plan.RunID, res.Deactivated)
		return err
	})
	if err != nil {
		return wf.DeactivateResult{}, fmt.Errorf("deactivate: %w", err)
	}
	return res, nil
}

// legacyMissing counts the missing products of a run staged by an older
// worker, which staged every row of the feed (unchanged ones slim), by
// comparing the catalogue with the staging table, and returns the update
// that deactivates them.
func legacyMissing(ctx context.Context, tx pgx.Tx, plan wf.Plan, res *wf.DeactivateResult) (string, error) {
	// products' statistics lag behind a big first harvest, and the
	// planner then picks a nested loop over the staging table for the
	// anti-join below: quadratic. A hash anti-join is linear.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'`); err != nil {
		return "", err
	}
	// Rows this run wrote carry its run id and are in the feed; the
	// candidates are the other active rows. Each slim staged row is one
	// of those, present in the feed, so when their numbers match nothing
	// is missing and the anti-join is skipped.
	missingSQL := fmt.Sprintf(`FROM products p WHERE p.tenant_id = $1 AND p.supplier_code = $2 AND p.active
		AND p.last_run_id <> $3 AND NOT EXISTS (SELECT 1 FROM %s s WHERE s.sku = p.sku)`, stageTable(plan.RunID))
	var others, slim, updated int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM products WHERE tenant_id = $1 AND supplier_code = $2 AND active AND last_run_id <> $3`,
		plan.TenantID, plan.SupplierCode, plan.RunID).Scan(&others); err != nil {
		return "", err
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(slim), 0), coalesce(sum(updated), 0) FROM harvest_parts WHERE run_id = $1`,
		plan.RunID).Scan(&slim, &updated); err != nil {
		return "", err
	}
	// Active before this run: the untouched ones plus those it updated
	// (a reactivated row counts too, a slight overestimate).
	res.ActiveBefore = others + updated
	if others > slim {
		if err := tx.QueryRow(ctx, `SELECT count(*) `+missingSQL, plan.TenantID, plan.SupplierCode, plan.RunID).Scan(&res.Missing); err != nil {
			return "", err
		}
	}
	return `UPDATE products p SET active = false, last_run_id = $3 ` + missingSQL[len("FROM products p "):], nil
}
