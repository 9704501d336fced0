package harvest

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	wf "contextworker/workflows/harvest"
)

// The staging table holds the rows a re-harvest must write (new or
// changed products), partitioned by merge partition, so each Merge scans
// only its own child table and no index has to be built after loading.
// Children are UNLOGGED: staging is rebuilt from the feed after a database
// crash anyway (see harvest_stage_progress). Rows of stored, unchanged
// products are not staged at all, except slim (SKU only, unchanged = true)
// when their SKU occurs twice in the feed.
const stageDDL = `CREATE TABLE IF NOT EXISTS %s (
	row_no bigint NOT NULL, part integer NOT NULL, sku text NOT NULL, name text,
	description text, brand text, gtin text, price numeric(18,4), currency text,
	stock bigint, availability text, category_path text[], product_url text, image_urls text[],
	attributes jsonb, content_hash text NOT NULL, unchanged boolean NOT NULL, source_key bigint) PARTITION BY LIST (part)`

// addSourceKeyDDL gives source_key to a staging or load table an older
// worker created (before 0008_harvest_source_key) for a run this one resumes.
const addSourceKeyDDL = `ALTER TABLE %s ADD COLUMN IF NOT EXISTS source_key bigint`

// addNewColumnsDDL gives a load table an older worker created (before
// 0014_products_activated_at or 0019_changed_fields) for a run this one
// resumes the columns products gained since: attached without them, the
// partition would not match products.
const addNewColumnsDDL = `ALTER TABLE %s ADD COLUMN IF NOT EXISTS activated_at timestamptz,
	ADD COLUMN IF NOT EXISTS changed_fields integer`

const stagePartDDL = `CREATE UNLOGGED TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES IN (%d)`

// stagePart names partition part of a run's staging table.
func stagePart(runID string, part int) string {
	return pgx.Identifier{strings.Trim(stageTable(runID), `"`) + "_" + strconv.Itoa(part)}.Sanitize()
}

// A supplier's first load skips staging: rows go straight into a table
// shaped like products (plus feed_row, for duplicates), with no index, that
// sealing indexes and attaches as the supplier's partition of products.
// It is logged: it becomes the catalogue. Its defaults fill in the tenant
// and supplier; a check constraint that matches the partition bounds lets
// the attach skip its validation scan.
//
// The columns that are the same on every row of a first load (loadConstants)
// are not in the table while it fills: sealing adds them with a constant
// default, which PostgreSQL keeps once in the catalogue for the rows already
// there ("fast default") instead of in every row. That is about 60 bytes a
// row (a tenth of a product row) that COPY, WAL, the key build and every
// later scan of the partition do not handle. A load table that an older
// worker made with those columns loses them here (they held its defaults:
// the run, true, and the time an attempt began), and sealing gives every
// row the sealing time. The partition's column order then differs from
// products', which PostgreSQL maps by name.
//
// The other way round does not work: a worker from before this shape,
// resuming a first load a newer one began, cannot set the defaults of the
// columns that are not there, and its attempt fails (changing nothing);
// the retry goes to another worker. Roll workers back when no first load
// is staging.
//
// Autovacuum leaves it alone while it fills (sealing turns it back on):
// left on, it vacuumed and analyzed a table still loading, a second of a
// core's time at a million products, for statistics of a fifth of them.
const loadDDL = `CREATE TABLE IF NOT EXISTS %[1]s (LIKE products INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
	feed_row bigint NOT NULL, CONSTRAINT products_scope CHECK (tenant_id = %[2]s AND supplier_code = %[3]s));
ALTER TABLE %[1]s ALTER tenant_id SET DEFAULT %[2]s, ALTER supplier_code SET DEFAULT %[3]s,
	DROP COLUMN IF EXISTS first_seen, DROP COLUMN IF EXISTS last_seen, DROP COLUMN IF EXISTS last_run_id,
	DROP COLUMN IF EXISTS active, SET (autovacuum_enabled = false)`

// loadConstants adds back to a sealed load table the columns loadDDL
// leaves out, with their values: %[2]s the run, %[3]s the sealing
// transaction's time (first and last seen). Each default is a literal
// constant, so that neither the values nor NOT NULL make PostgreSQL rewrite
// or scan the table; sealing then drops the defaults that products does not
// have (active keeps its default, true, as LIKE products gives it).
const loadConstants = `ALTER TABLE %[1]s ADD COLUMN IF NOT EXISTS first_seen timestamptz NOT NULL DEFAULT %[3]s,
	ADD COLUMN IF NOT EXISTS last_seen timestamptz NOT NULL DEFAULT %[3]s,
	ADD COLUMN IF NOT EXISTS last_run_id text NOT NULL DEFAULT %[2]s,
	ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true`

// loadTable names a first load's table.
func loadTable(runID string) string {
	return pgx.Identifier{"harvest_load_" + strings.TrimPrefix(strings.Trim(stageTable(runID), `"`), "harvest_stage_")}.Sanitize()
}

func (a *Activities) createStage(ctx context.Context, plan wf.Plan, firstLoad bool) error {
	table := stageTable(plan.RunID)
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if firstLoad {
			if _, err := tx.Exec(ctx, fmt.Sprintf(loadDDL, loadTable(plan.RunID), literal(plan.TenantID), literal(plan.SupplierCode))); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(addSourceKeyDDL, loadTable(plan.RunID))); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, fmt.Sprintf(addNewColumnsDDL, loadTable(plan.RunID)))
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(stageDDL, table)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(addSourceKeyDDL, table)); err != nil {
			return err
		}
		for p := range plan.Partitions {
			if _, err := tx.Exec(ctx, fmt.Sprintf(stagePartDDL, stagePart(plan.RunID, p), table, p)); err != nil {
				return err
			}
		}
		return nil
	})
}

// literal quotes s as an SQL string literal (standard_conforming_strings).
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (a *Activities) resetStage(ctx context.Context, plan wf.Plan, firstLoad bool) error {
	table := stageTable(plan.RunID)
	if firstLoad {
		table = loadTable(plan.RunID)
	}
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE `+table); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM harvest_rejects WHERE run_id = $1`, plan.RunID); err != nil {
			return err
		}
		return saveCheckpoint(ctx, tx, plan.RunID, checkpoint{})
	})
}

// stageTable names a run's staging table.
func stageTable(runID string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return -1
	}, runID)
	return pgx.Identifier{"harvest_stage_" + clean}.Sanitize()
}
