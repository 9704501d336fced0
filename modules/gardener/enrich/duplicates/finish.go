package duplicates

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgtype"

	"contextworker/modules/gardener/enrich"
)

// maxHashed bounds the stored keys a full pass hashes into the worker's
// memory: about 45 bytes a key while they are read (the row as received,
// then decoded, then sorted), 90 MB at the bound. A tenant with more is
// grouped by the database instead, within its work_mem: its keys are read
// three times (the first read stops past the bound). A variable for tests.
var maxHashed = 2_000_000

// keyHash is the SQL expression hashing a key, expr, to a bigint. Its
// collisions only cost time: rows are grouped by their exact keys once
// they are found by hash. A variable, so that tests can make keys collide.
var keyHash = func(expr string) string { return "hashtextextended(" + expr + ", 0)" }

// afterHashed, when set, runs between the read of the hashes and the
// pass's statement: tests change rows there.
var afterHashed func()

// Finish implements enrich.Finisher: it rebuilds the tenant's groups from
// the stored keys of active products, writing only what changed. Only keys
// that enough rows share can form a group, so products are looked at for
// those keys alone. After f.Since, only the keys of products changed since
// (as stored now, or through the group they were in) and of groups with a
// member no longer active are rebuilt: no other group can have changed.
func (e *Enricher) Finish(ctx context.Context, db enrich.DB, f enrich.Finish) (int64, error) {
	args := []any{f.Run.TenantID, Field, e.cfg.MinMembers, f.Run.ID}
	var matched, touched string
	switch {
	case f.Since == nil:
		tids, hashes, ok, err := sharedHashes(ctx, db, f.Run.TenantID, e.cfg.MinMembers)
		if err != nil {
			return 0, err
		}
		if afterHashed != nil {
			afterHashed()
		}
		matched = matchedByHash()
		if ok {
			matched = matchedByRow()
			args = append(args, tids, hashes)
		}
		touched = "true"
	default:
		// Only keys of products changed since, as stored now or through
		// the group they were in, and groups with a member no longer
		// active can have changed.
		candidates := `SELECT e.value->>'key' AS key FROM products p JOIN enrichments e
			ON e.tenant_id = p.tenant_id AND e.supplier_code = p.supplier_code AND e.sku = p.sku AND e.field = $2
			WHERE p.tenant_id = $1 AND p.last_seen > $5
		UNION
		SELECT g.key FROM product_group_members m
			JOIN product_groups g ON g.tenant_id = m.tenant_id AND g.group_id = m.group_id
			JOIN products p ON p.tenant_id = m.tenant_id AND p.supplier_code = m.supplier_code AND p.sku = m.sku
			WHERE m.tenant_id = $1 AND (p.last_seen > $5 OR NOT p.active)`
		args = append(args, *f.Since)
		if f.Run.Sparse {
			// The run's batches read exactly the products changed since
			// and marked the keys they had and now have (MarkTouched).
			// Found so, the pass costs what changed: joining the changed
			// products with what is stored walked the whole catalogue.
			candidates = `SELECT t.key FROM gardener_marks t WHERE t.run_id = $4 AND t.name = $5
			UNION
			SELECT g.key FROM product_group_members m
				JOIN product_groups g ON g.tenant_id = m.tenant_id AND g.group_id = m.group_id
				JOIN products p ON p.tenant_id = m.tenant_id AND p.supplier_code = m.supplier_code AND p.sku = m.sku
				WHERE m.tenant_id = $1 AND NOT p.active`
			args[len(args)-1] = MarkTouched
		}
		// The candidates' keys are distinct, joined once. The groups
		// they touch are those stored with their keys (every member's
		// group is, with the key its id derives from): computed from each
		// key by md5 instead, the ids of 79k keys took 0.15 s, and tested
		// by IN, md5 was computed again for each member and candidate.
		matched = `candidates AS MATERIALIZED (` + candidates + `), matched AS MATERIALIZED (
			SELECT e.supplier_code, e.sku, c.key FROM enrichments e JOIN candidates c ON c.key = e.value->>'key'
			WHERE e.tenant_id = $1 AND e.field = $2
		), touched AS MATERIALIZED (
			SELECT g.group_id FROM product_groups g JOIN candidates c ON c.key = g.key WHERE g.tenant_id = $1
		)`
		touched = `m.group_id IN (SELECT group_id FROM touched)`
	}
	// The rows of shared keys are few: each product is looked up by its
	// key (a subplan, which is never hashed). Joined, the tenant's
	// products were hashed whole to check a few thousand: planned on the
	// matched rows' estimate, which counts the gate's branch (millions),
	// or on a products partition a harvest had just loaded.
	keys := `SELECT k.supplier_code, k.sku, k.key FROM plural k
		WHERE (SELECT p.active FROM products p WHERE p.tenant_id = $1 AND p.supplier_code = k.supplier_code AND p.sku = k.sku)`
	// matched holds the rows of the keys that may form a group, found
	// before products are joined (a fence): planned the other way round,
	// every stored key was joined with its product first. plural keeps
	// the keys enough rows share, by the exact key (hashes may collide);
	// it is a fence too, or the products of every matched row were looked
	// up before the keys were counted.
	//
	// Keys are counted by a window over them, not by joining the rows
	// with their keys' counts: planned on the estimate of matched (an
	// array's length, a gate's branch), that join was a nested loop that
	// compared every row with every key, minutes for 158k rows of 79k
	// shared keys. A window sorts once, whatever the estimate.
	q := `WITH ` + matched + `, plural AS MATERIALIZED (
		SELECT w.supplier_code, w.sku, w.key FROM (
			SELECT k.supplier_code, k.sku, k.key, count(*) OVER (PARTITION BY k.key) AS n FROM matched k) w
		WHERE w.n >= $3
	), keys AS (` + keys + `
	), members AS (
		SELECT w.supplier_code, w.sku, w.key, 'g' || left(md5(w.key), 16) AS group_id FROM (
			SELECT k.supplier_code, k.sku, k.key, count(*) OVER (PARTITION BY k.key) AS n FROM keys k) w
		WHERE w.n >= $3
	), shared AS (
		SELECT DISTINCT key, group_id FROM members
	), g AS (
		INSERT INTO product_groups (tenant_id, group_id, key) SELECT $1, group_id, key FROM shared
		ON CONFLICT DO NOTHING RETURNING 1
	), m AS (
		INSERT INTO product_group_members AS m (tenant_id, supplier_code, sku, group_id, run_id)
		SELECT $1, supplier_code, sku, group_id, $4 FROM members
		ON CONFLICT (tenant_id, supplier_code, sku) DO UPDATE SET group_id = excluded.group_id, run_id = excluded.run_id
		WHERE m.group_id IS DISTINCT FROM excluded.group_id
		RETURNING 1
	), d AS (
		DELETE FROM product_group_members m WHERE m.tenant_id = $1 AND ` + touched + `
			AND NOT EXISTS (SELECT 1 FROM members x WHERE x.supplier_code = m.supplier_code AND x.sku = m.sku)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM g) + (SELECT count(*) FROM m) + (SELECT count(*) FROM d)`
	var n int64
	if err := db.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("groups: %w", err)
	}
	return n, nil
}

// matchedByRow fetches the rows sharedHashes found ($5) by their ctid, a
// TID scan each, and keeps those that still hold a key of the hash it
// read ($6, one for each row). A row updated since (another version,
// elsewhere, or none; the ctid perhaps reused) is missed, and then the
// rows are found as matchedByHash finds them: the gate opens only when
// fewer rows came back than were asked for, which happens only when rows
// change during the pass. The hashes are not tested with IN: PostgreSQL
// estimates an array parameter at ten elements, and could compare each
// row with each hash.
func matchedByRow() string {
	return `byrow AS MATERIALIZED (
		SELECT e.supplier_code, e.sku, e.value->>'key' AS key
		FROM unnest($5::tid[], $6::int8[]) AS x(t, h) JOIN enrichments e ON e.ctid = x.t
		WHERE e.tenant_id = $1 AND e.field = $2 AND ` + keyHash("e.value->>'key'") + ` = x.h
	), matched AS MATERIALIZED (
		SELECT supplier_code, sku, key FROM byrow
		UNION
		SELECT e.supplier_code, e.sku, e.value->>'key' FROM enrichments e
		WHERE (SELECT count(*) FROM byrow) < cardinality($5::tid[]) AND e.tenant_id = $1 AND e.field = $2
			AND ` + keyHash("e.value->>'key'") + ` IN (
				SELECT ` + keyHash("s.value->>'key'") + ` FROM enrichments s WHERE s.tenant_id = $1 AND s.field = $2
				GROUP BY 1 HAVING count(*) >= $3)
	)`
}

// matchedByHash finds the hashes that enough rows share and the rows
// holding them in the database: two reads of the tenant's keys and a sort
// of their hashes, for tenants with more keys than maxHashed.
func matchedByHash() string {
	return `candidates AS MATERIALIZED (
		SELECT ` + keyHash("e.value->>'key'") + ` AS h FROM enrichments e WHERE e.tenant_id = $1 AND e.field = $2
		GROUP BY 1 HAVING count(*) >= $3
	), matched AS MATERIALIZED (
		SELECT e.supplier_code, e.sku, e.value->>'key' AS key FROM enrichments e
		WHERE e.tenant_id = $1 AND e.field = $2 AND ` + keyHash("e.value->>'key'") + ` IN (SELECT h FROM candidates)
	)`
}

// sharedHashes reads the hash of every key the tenant stores, with its
// row's ctid, in one read of the tenant's rows, and returns the rows
// holding a hash that at least min rows share, with their hashes. Only these rows can
// form a group. Counted in the database, the million hashes of a million
// products were sorted and grouped at twice the cost of reading them, and
// the rows read a second time. ok is false when the tenant stores more
// than maxHashed keys: nothing was counted.
//
// The read is a sequential scan of the tenant's enrichments, in parallel
// where the server allows it: at 1M products on 2 cores, 0.80-0.88 s
// against 1.35-1.40 s serially. Charged for every row a worker passes to
// the leader (parallel_tuple_cost, 0.1), the read was planned serially:
// the setting is 0.01 for this statement alone (in the caller's
// transaction; outside one it has no effect).
func sharedHashes(ctx context.Context, db enrich.DB, tenant string, min int) (tids []pgtype.TID, hashes []int64, ok bool, err error) {
	var hs []int64
	var ts []pgtype.TID
	var tupleCost string
	if err := db.QueryRow(ctx, `SELECT current_setting('parallel_tuple_cost'), set_config('parallel_tuple_cost', '0.01', true)`).
		Scan(&tupleCost, nil); err != nil {
		return nil, nil, false, fmt.Errorf("groups: key hashes: %w", err)
	}
	q := `SELECT coalesce(array_agg(h), '{}'), coalesce(array_agg(t), '{}') FROM (
		SELECT ` + keyHash("e.value->>'key'") + ` AS h, e.ctid AS t FROM enrichments e WHERE e.tenant_id = $1 AND e.field = $2 LIMIT $3) x`
	if err := db.QueryRow(ctx, q, tenant, Field, maxHashed+1).Scan(&hs, &ts); err != nil {
		return nil, nil, false, fmt.Errorf("groups: key hashes: %w", err)
	}
	if _, err := db.Exec(ctx, `SELECT set_config('parallel_tuple_cost', $1, true)`, tupleCost); err != nil {
		return nil, nil, false, fmt.Errorf("groups: key hashes: %w", err)
	}
	if len(hs) > maxHashed {
		return nil, nil, false, nil
	}
	dup := shared(slices.Clone(hs), min)
	for i, h := range hs {
		if _, found := slices.BinarySearch(dup, h); found {
			tids = append(tids, ts[i])
			hashes = append(hashes, h)
		}
	}
	return tids, hashes, true, nil
}

// shared returns, in order, the values that occur at least min times in
// hs, which it sorts.
func shared(hs []int64, min int) []int64 {
	slices.Sort(hs)
	var out []int64
	for i := 0; i < len(hs); {
		j := i + 1
		for j < len(hs) && hs[j] == hs[i] {
			j++
		}
		if j-i >= min {
			out = append(out, hs[i])
		}
		i = j
	}
	return out
}
