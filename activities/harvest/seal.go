package harvest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	wf "contextworker/workflows/harvest"
)

// sealed returns the recorded result when an earlier attempt sealed the
// stage (and crashed before reporting it). Its NothingStaged is false:
// the run merges, finding nothing where nothing was staged.
func (a *Activities) sealed(ctx context.Context, plan wf.Plan) (bool, wf.StageResult, error) {
	var done bool
	var res wf.StageResult
	err := a.DB.QueryRow(ctx, `SELECT staged_at IS NOT NULL, feed_bytes, rows_read, rows_valid, rows_rejected, stage_attempts,
			resumed_from_row, rows_read = 0 AND feed_bytes = 0, first_load AND active_before IS NOT NULL, length_undeclared, checkpoint_lost
		FROM harvest_runs WHERE run_id = $1`, plan.RunID).Scan(&done, &res.Bytes, &res.RowsRead, &res.Valid, &res.Rejected,
		&res.Attempts, &res.ResumedFrom, &res.Unchanged, &res.Loaded, &res.LengthUndeclared, &res.CheckpointLost)
	if err != nil {
		return false, wf.StageResult{}, fmt.Errorf("stage: %w", err)
	}
	return done, res, nil
}

// sealStage records the staging counts on the run, with the supplier's
// active products the feed did not name (harvest_missing). Duplicate SKUs
// (the last occurrence in the feed wins) are rejected by the merges,
// partition by partition, and counted there.
func (a *Activities) sealStage(ctx context.Context, plan wf.Plan, cp checkpoint, existing *existingSet, dups bool) (wf.StageResult, error) {
	res := cp.result()
	missing, err := a.missingSKUs(ctx, plan, existing.missing())
	if err != nil {
		return wf.StageResult{}, err
	}
	err = pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM harvest_missing WHERE run_id = $1`, plan.RunID); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"harvest_missing"}, []string{"run_id", "sku"},
			pgx.CopyFromSlice(len(missing), func(i int) ([]any, error) { return []any{plan.RunID, missing[i]}, nil })); err != nil {
			return err
		}
		// Every attempt's rows are in the staging table: none at all means
		// the merges would find nothing to do.
		if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+stageTable(plan.RunID)+`)`).Scan(&res.NothingStaged); err != nil {
			return err
		}
		return recordStaged(ctx, tx, plan, cp, dups, existing.len(), int64(len(missing)))
	})
	if err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: seal: %w", err)
	}
	return res, nil
}

// recordStaged writes staging's counts to the run and marks it staged, in
// the sealing transaction.
func recordStaged(ctx context.Context, tx pgx.Tx, plan wf.Plan, cp checkpoint, dups bool, activeBefore, missing int64) error {
	_, err := tx.Exec(ctx, `UPDATE harvest_runs SET feed_bytes = $2, rows_read = $3, rows_valid = $4, rows_rejected = $5,
			may_have_duplicates = $6, stage_attempts = $7, resumed_from_row = $8, etag = $9, last_modified = $10,
			staged_at = clock_timestamp(), active_before = $11, missing = $12, length_undeclared = $13
		WHERE run_id = $1`, plan.RunID, cp.Bytes, cp.Valid+cp.Rejected, cp.Valid, cp.Rejected, dups,
		cp.Attempts, cp.Resumed, nullable(cp.v.ETag), nullable(cp.v.LastModified), activeBefore, missing, cp.undeclared)
	return err
}

// missingSKUs resolves the keys of stored products the feed did not name
// into their SKUs.
func (a *Activities) missingSKUs(ctx context.Context, plan wf.Plan, keys map[skuKeys]struct{}) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var parts [scanParts][]string
	err := a.scanActive(ctx, plan, "sku", pgx.QueryResultFormats{pgx.TextFormatCode}, func(part int, v [][]byte) error {
		if _, ok := keys[keysOf(v[0])]; ok {
			parts[part] = append(parts[part], string(v[0]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stage: missing products: %w", err)
	}
	return slices.Concat(parts[:]...), nil
}

// dedupeSQL rejects and removes every occurrence but the last of the
// SKUs in $2 (those the producer saw more than once). One scan of the load
// keeps the rows of those SKUs alone; the superseded ones are deleted by
// their row addresses (a TID scan). supersededSQL and deleteSupersededSQL
// sort or group all of the load instead: seconds at a million rows.
const dedupeSQL = `WITH d AS MATERIALIZED (
		SELECT ctid AS tid, feed_row, sku, max(feed_row) OVER (PARTITION BY sku) AS keep FROM %[1]s WHERE sku = ANY($2::text[])),
	r AS (INSERT INTO harvest_rejects (run_id, row_no, sku, reason, raw)
		SELECT $1, feed_row, sku, 'sku: duplicate, superseded by row ' || keep, '' FROM d WHERE feed_row < keep
		ON CONFLICT (run_id, row_no) DO NOTHING)
	DELETE FROM %[1]s WHERE ctid = ANY (ARRAY(SELECT tid FROM d WHERE feed_row < keep))`

// supersededSQL rejects every occurrence of a SKU in a first load but the
// last, and deleteSupersededSQL removes them: the fallback for duplicates
// the producer did not name.
const (
	supersededSQL = `INSERT INTO harvest_rejects (run_id, row_no, sku, reason, raw)
	SELECT $1, feed_row, sku, 'sku: duplicate, superseded by row ' || keep, '' FROM (
		SELECT feed_row, sku, max(feed_row) OVER (PARTITION BY sku) AS keep FROM %s) d
	WHERE feed_row < keep ON CONFLICT (run_id, row_no) DO NOTHING`
	deleteSupersededSQL = `DELETE FROM %[1]s l USING (SELECT sku, max(feed_row) AS keep FROM %[1]s GROUP BY sku HAVING count(*) > 1) d
	WHERE l.sku = d.sku AND l.feed_row < d.keep`
)

// sealLoad makes a first load the supplier's partition of products, in one
// transaction: superseded duplicates out, the primary key built in one
// pass, the constant columns added (loadConstants), the helper column and
// defaults dropped, then renamed and attached.
// Until then no reader sees any of it; a failed run drops the table.
// dupSKUs are the SKUs the feed names more than once.
func (a *Activities) sealLoad(ctx context.Context, plan wf.Plan, cp checkpoint, dupSKUs []string) (wf.StageResult, error) {
	res := cp.result()
	res.Loaded = true
	load := loadTable(plan.RunID)
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var tenantPart, leaf string
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT products_tenant_partition($1), products_supplier_partition($1, $2), now()`,
			plan.TenantID, plan.SupplierCode).Scan(&tenantPart, &leaf, &now); err != nil {
			return err
		}
		// A generous sort memory for the one index build (the server's
		// default, 64 MB, spills a million keys to disk), shared by the
		// processes of a parallel build (Config.KeyBuildWorkers); the
		// attach waits for readers of the tenant's default partition, but
		// not forever.
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL max_parallel_maintenance_workers = %d;
			SET LOCAL lock_timeout = '30s'`, a.Config.KeyBuildWorkers)); err != nil {
			return err
		}
		// The superseded rows of the SKUs the feed repeats are rejected
		// and removed first (the feed's last one wins). Should the primary
		// key still fail on a duplicate, all superseded rows are found by
		// sorting the whole load, and the key built again.
		var duplicates int64
		if len(dupSKUs) > 0 {
			tag, err := tx.Exec(ctx, fmt.Sprintf(dedupeSQL, load), plan.RunID, dupSKUs)
			if err != nil {
				return fmt.Errorf("duplicates: %w", err)
			}
			duplicates = tag.RowsAffected()
		}
		pkey := fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (sku, supplier_code, tenant_id)`, load, pgx.Identifier{leaf + "_pkey"}.Sanitize())
		if _, err := tx.Exec(ctx, `SAVEPOINT pkey`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pkey); err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
				return fmt.Errorf("primary key: %w", err)
			}
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT pkey`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(supersededSQL, load), plan.RunID); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, fmt.Sprintf(deleteSupersededSQL, load))
			if err != nil {
				return err
			}
			duplicates += tag.RowsAffected()
			if _, err := tx.Exec(ctx, pkey); err != nil {
				return fmt.Errorf("primary key: %w", err)
			}
		}
		leafID := pgx.Identifier{leaf}.Sanitize()
		for _, stmt := range []string{
			fmt.Sprintf(loadConstants, load, literal(plan.RunID), literal(now.UTC().Format(time.RFC3339Nano))),
			fmt.Sprintf(`ALTER TABLE %s DROP COLUMN feed_row, ALTER tenant_id DROP DEFAULT, ALTER supplier_code DROP DEFAULT,
				ALTER last_run_id DROP DEFAULT, ALTER first_seen DROP DEFAULT, ALTER last_seen DROP DEFAULT,
				RESET (autovacuum_enabled)`, load),
			fmt.Sprintf(`ALTER TABLE %s RENAME TO %s`, load, leafID),
			fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES IN (%s)`, pgx.Identifier{tenantPart}.Sanitize(), leafID, literal(plan.SupplierCode)),
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", strings.Join(strings.Fields(stmt)[:5], " "), err)
			}
		}
		// The load's rows were last seen now (loadConstants), and so the
		// log entry says.
		if cp.Valid > duplicates {
			if _, err := tx.Exec(ctx, fmt.Sprintf(logAllChangedSQL, `now()`),
				plan.TenantID, plan.SupplierCode, plan.RunID); err != nil {
				return fmt.Errorf("log changes: %w", err)
			}
		}
		// Part -1 holds a first load's counts (it has no merges).
		if _, err := tx.Exec(ctx, `INSERT INTO harvest_parts (run_id, part, inserted, updated, unchanged, duplicates, slim)
			VALUES ($1, -1, $2, 0, 0, $3, 0)`, plan.RunID, cp.Valid-duplicates, duplicates); err != nil {
			return err
		}
		// Its duplicates are gone already: nothing for merges to do.
		return recordStaged(ctx, tx, plan, cp, false, 0, 0)
	})
	if err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: seal first load: %w", err)
	}
	return res, nil
}
