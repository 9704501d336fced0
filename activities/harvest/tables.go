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
// but active (see loadLead) are not in the table while it fills: sealing
// adds them with a constant
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
//
// loadDDL makes the table when loadColumnsDDL cannot (an unusual products);
// %[1]s is the table, %[2]s and %[3]s the tenant and supplier, literal.
const loadDDL = `CREATE TABLE IF NOT EXISTS %[1]s (LIKE products INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
	feed_row bigint NOT NULL, CONSTRAINT products_scope CHECK (tenant_id = %[2]s AND supplier_code = %[3]s))`

// loadAlterDDL is what follows the CREATE of either shape, and the shape
// of a table an older worker made; active stays (see loadLead).
const loadAlterDDL = `ALTER TABLE %[1]s ALTER tenant_id SET DEFAULT %[2]s, ALTER supplier_code SET DEFAULT %[3]s,
	DROP COLUMN IF EXISTS first_seen, DROP COLUMN IF EXISTS last_seen, DROP COLUMN IF EXISTS last_run_id,
	SET (autovacuum_enabled = false)`

// loadLead are the columns a first load's table holds first, in this
// order: the primary key's, then what a re-harvest reads of every product
// (loadExisting, with active, its filter). PostgreSQL finds a row's n-th
// column by walking the n-1 before it, and in products' order those come
// after the name, description, prices, images and attributes: reading
// them from a million rows took 0.41-0.55 s of the server's time in that
// order and 0.19 s in this one (psql, EXPLAIN ANALYZE). The key build
// walks three columns instead of up to fifteen. active is stored (its
// default, true: COPY does not send it), where it used to be added when
// sealing as a default kept in the catalogue, which placed it last.
var loadLead = []string{"sku", "supplier_code", "tenant_id", "content_hash", "source_key", "active"}

// loadColumnsSQL lists products' columns as LIKE products INCLUDING
// DEFAULTS copies them (type, collation, NOT NULL, default), loadLead's
// first ($1), then in products' order, but for those a first load leaves
// to sealing (loadConstants); and whether any is of a kind this does not
// copy (generated, identity).
const loadColumnsSQL = `SELECT quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
	CASE WHEN a.attcollation <> t.typcollation THEN (SELECT ' COLLATE ' || quote_ident(n.nspname) || '.' || quote_ident(c.collname)
		FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE c.oid = a.attcollation) ELSE '' END,
	a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attgenerated <> '' OR a.attidentity <> ''
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = 'products'::regclass AND a.attnum > 0 AND NOT a.attisdropped
	AND a.attname NOT IN ('first_seen', 'last_seen', 'last_run_id')
ORDER BY coalesce(array_position($1::text[], a.attname::text), 1000), a.attnum`

// loadChecksSQL lists products' CHECK constraints, as INCLUDING CONSTRAINTS
// copies them.
const loadChecksSQL = `SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'products'::regclass AND contype = 'c' ORDER BY conname`

// loadColumnsDDL returns loadDDL's CREATE TABLE with loadLead's columns
// first, made from the catalogue so that it follows products' migrations;
// "" when products has a column of a kind LIKE copies differently.
func loadColumnsDDL(ctx context.Context, tx pgx.Tx, table, tenant, supplier string) (string, error) {
	var defs []string
	rows, err := tx.Query(ctx, loadColumnsSQL, loadLead)
	if err != nil {
		return "", err
	}
	unusual := false
	var name, typ, collate, def string
	var notNull, odd bool
	_, err = pgx.ForEachRow(rows, []any{&name, &typ, &collate, &notNull, &def, &odd}, func() error {
		col := name + " " + typ + collate
		if notNull {
			col += " NOT NULL"
		}
		if def != "" {
			col += " DEFAULT " + def
		}
		defs = append(defs, col)
		unusual = unusual || odd
		return nil
	})
	if err != nil || unusual {
		return "", err
	}
	rows, err = tx.Query(ctx, loadChecksSQL)
	if err != nil {
		return "", err
	}
	_, err = pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		defs = append(defs, "CONSTRAINT "+name+" "+def)
		return nil
	})
	if err != nil {
		return "", err
	}
	defs = append(defs, "feed_row bigint NOT NULL", "CONSTRAINT products_scope CHECK (tenant_id = "+tenant+" AND supplier_code = "+supplier+")")
	return "CREATE TABLE IF NOT EXISTS " + table + " (" + strings.Join(defs, ", ") + ")", nil
}

// loadConstants adds back to a sealed load table the columns loadDDL
// leaves out, with their values: %[2]s the run, %[3]s the sealing
// transaction's time (first and last seen). Each default is a literal
// constant, so that neither the values nor NOT NULL make PostgreSQL rewrite
// or scan the table; sealing then drops the defaults that products does not
// have. active is there already, but in a table an older worker made (it
// keeps its default, true, as products has it).
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
			load, tenant, supplier := loadTable(plan.RunID), literal(plan.TenantID), literal(plan.SupplierCode)
			create, err := loadColumnsDDL(ctx, tx, load, tenant, supplier)
			if err != nil {
				return err
			}
			if create == "" {
				create = fmt.Sprintf(loadDDL, load, tenant, supplier)
			}
			if _, err := tx.Exec(ctx, create+"; "+fmt.Sprintf(loadAlterDDL, load, tenant, supplier)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(addSourceKeyDDL, load)); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, fmt.Sprintf(addNewColumnsDDL, load))
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
