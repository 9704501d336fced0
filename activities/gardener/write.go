package gardener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// field is one enrichment row to write.
type field struct {
	supplier, sku, name string
	value               json.RawMessage
	enricher, version   string
}

// removal is a stored field its enricher no longer produces.
type removal struct {
	supplier, sku, name, enricher string
}

// delta is what a batch changes in storage, found by comparing what the
// enrichers produced with what was stored: a rerun over unchanged products
// finds nothing, and writes nothing.
type delta struct {
	// inserts are fields the product did not have: written by COPY.
	inserts []field
	// updates are stored fields with another value or provenance.
	updates []field
	removes []removal
}

// diff compares the batch's results with what is stored. A field a later
// enricher also wrote is the later one's; a stored field whose enricher
// ran on the product and no longer produced it is removed, unless a
// set-based pass owns it (keep).
func diff(w *work, out enrich.Outcome, keep []string) delta {
	var d delta
	// The fields of products with nothing stored are all new: room for
	// them at once.
	fresh, anyStored := 0, false
	for i, p := range w.batch {
		if w.stored[i] == nil {
			fresh += len(p.Results())
		} else {
			anyStored = true
		}
	}
	d.inserts = make([]field, 0, fresh)
	// ran[i] lists the enrichers that ran on batch[i], for products with
	// stored fields only (the others have nothing to remove).
	var ran [][]string
	if anyStored {
		ran = make([][]string, len(w.batch))
		for _, r := range out.Ran {
			if w.stored[r.Index] != nil {
				ran[r.Index] = append(ran[r.Index], r.Enricher)
			}
		}
	}
	var printer jsonbPrinter
	for i, p := range w.batch {
		rs := p.Results()
		stored := w.stored[i]
		for j, r := range rs {
			if produces(rs[j+1:], r.Field) {
				continue // a later enricher wrote the same field: it wins
			}
			f := field{p.SupplierCode, p.SKU, r.Field, r.Value, r.Enricher, r.Version}
			prov, ok := stored[r.Field]
			switch {
			case !ok:
				d.inserts = append(d.inserts, f)
			case prov.enricher != r.Enricher || prov.version != r.Version || !printer.equal(p.Stored[r.Field], r.Value):
				d.updates = append(d.updates, f)
			}
		}
		for name, prov := range stored {
			if slices.Contains(ran[i], prov.enricher) && !slices.Contains(keep, name) && !produces(rs, name) {
				d.removes = append(d.removes, removal{p.SupplierCode, p.SKU, name, prov.enricher})
			}
		}
	}
	return d
}

func produces(rs []enrich.Result, name string) bool {
	for _, r := range rs {
		if r.Field == name {
			return true
		}
	}
	return false
}

// upsertSQL writes fields that may be stored already; a value (and
// provenance) equal to the stored one is not written.
const upsertSQL = `
WITH up AS (
	INSERT INTO enrichments AS e (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
	SELECT $1, s, k, f, v::jsonb, en, ver, $2
	FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS x(s, k, f, v, en, ver)
	ON CONFLICT (tenant_id, supplier_code, sku, field) DO UPDATE SET value = excluded.value, enricher = excluded.enricher,
		enricher_version = excluded.enricher_version, run_id = excluded.run_id, updated_at = now()
	WHERE e.value IS DISTINCT FROM excluded.value OR e.enricher IS DISTINCT FROM excluded.enricher
		OR e.enricher_version IS DISTINCT FROM excluded.enricher_version
	RETURNING 1
)
SELECT count(*) FROM up`

// removeSQL removes fields whose enricher no longer produces them; the
// enricher is checked again, so a field another enricher took over stays.
const removeSQL = `
DELETE FROM enrichments e USING unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS d(s, k, f, en)
WHERE e.tenant_id = $1 AND e.supplier_code = d.s AND e.sku = d.k AND e.field = d.f AND e.enricher = d.en`

var enrichmentColumns = []string{"tenant_id", "supplier_code", "sku", "field", "value", "enricher", "enricher_version", "run_id"}

// write applies a batch's delta and returns the rows written and removed.
// New fields go in by COPY, with no conflict handling to pay for; should
// one be stored meanwhile after all (a stray attempt of another run), the
// COPY is undone and they go through the upsert instead.
func write(ctx context.Context, tx pgx.Tx, plan wf.Plan, d delta) (written, removed int64, err error) {
	if len(d.inserts) > 0 {
		n, err := copyNew(ctx, tx, plan, d.inserts)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
			n, err = upsert(ctx, tx, plan, d.inserts)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("write: insert: %w", err)
		}
		written += n
	}
	if len(d.updates) > 0 {
		n, err := upsert(ctx, tx, plan, d.updates)
		if err != nil {
			return 0, 0, fmt.Errorf("write: update: %w", err)
		}
		written += n
	}
	if len(d.removes) > 0 {
		cols := make([][]string, 4)
		for _, r := range d.removes {
			cols[0], cols[1] = append(cols[0], r.supplier), append(cols[1], r.sku)
			cols[2], cols[3] = append(cols[2], r.name), append(cols[3], r.enricher)
		}
		tag, err := tx.Exec(ctx, removeSQL, plan.TenantID, cols[0], cols[1], cols[2], cols[3])
		if err != nil {
			return 0, 0, fmt.Errorf("write: remove: %w", err)
		}
		removed = tag.RowsAffected()
	}
	return written, removed, nil
}

func upsert(ctx context.Context, tx pgx.Tx, plan wf.Plan, fs []field) (int64, error) {
	cols := make([][]string, 6)
	for _, f := range fs {
		cols[0], cols[1], cols[2] = append(cols[0], f.supplier), append(cols[1], f.sku), append(cols[2], f.name)
		cols[3], cols[4], cols[5] = append(cols[3], string(f.value)), append(cols[4], f.enricher), append(cols[5], f.version)
	}
	var n int64
	err := tx.QueryRow(ctx, upsertSQL, plan.TenantID, plan.RunID, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]).Scan(&n)
	return n, err
}
