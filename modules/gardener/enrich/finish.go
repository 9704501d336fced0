package enrich

import (
	"context"
	"fmt"
)

// SyncField makes field hold exactly the values that candidates selects for
// the run's tenant: it upserts those that differ and removes the field
// where candidates selects nothing, and returns the rows written. It is the
// building block of Finishers.
//
// candidates is a SELECT of (supplier_code text, sku text, value jsonb). It
// may use $1 (tenant id) and its own parameters from $6 on, given as args.
//
// Rows already holding their value are left out before the upsert: ON
// CONFLICT locks the row it meets even when its WHERE then declines the
// update, and a lock is a write (the page dirtied, a WAL record), for
// every flag that stays set, every run. The DELETE finds the field's
// rows by the partial index enrichments_sparse_field: a field SyncField
// owns must stay off the list of fields that index leaves out.
func SyncField(ctx context.Context, db DB, f Finish, field, candidates string, args ...any) (int64, error) {
	q := `WITH c AS (` + candidates + `),
	up AS (
		INSERT INTO enrichments AS e (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id)
		SELECT $1, c.supplier_code, c.sku, $5, c.value, $2, $3, $4 FROM c
		WHERE NOT EXISTS (SELECT 1 FROM enrichments x WHERE x.tenant_id = $1 AND x.supplier_code = c.supplier_code
			AND x.sku = c.sku AND x.field = $5 AND x.value = c.value AND x.enricher = $2 AND x.enricher_version = $3)
		ON CONFLICT (tenant_id, supplier_code, sku, field) DO UPDATE SET value = excluded.value,
			enricher = excluded.enricher, enricher_version = excluded.enricher_version, run_id = excluded.run_id, updated_at = now()
		WHERE e.value IS DISTINCT FROM excluded.value OR e.enricher IS DISTINCT FROM excluded.enricher
			OR e.enricher_version IS DISTINCT FROM excluded.enricher_version
		RETURNING 1
	), del AS (
		DELETE FROM enrichments e WHERE e.tenant_id = $1 AND e.field = $5
			AND NOT EXISTS (SELECT 1 FROM c WHERE c.supplier_code = e.supplier_code AND c.sku = e.sku)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM del)`
	all := append([]any{f.Run.TenantID, f.Enricher, f.Version, f.Run.ID, field}, args...)
	var n int64
	if err := db.QueryRow(ctx, q, all...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sync %s: %w", field, err)
	}
	return n, nil
}
