// Package duplicates is the duplicates enricher: it gives each product a
// group key (its GTIN, or optionally its normalised brand and name), and,
// once a run's batches are written, gathers the products sharing a key
// across suppliers into canonical product groups (tables product_groups and
// product_group_members) with one set-based pass.
package duplicates

import (
	"context"
	"crypto/md5" //nolint:gosec // an id derived from a key, not security; SQL's md5() must agree
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher.
const (
	Name    = "duplicates"
	Version = "1"
	// Field is {"key": "gtin:04006381333931", "by": "gtin", "group_id": "g…"}.
	Field = "group"
	// BrandField is the brand enricher's field, read when it ran first.
	BrandField = "brand"
	// MarkTouched marks, in a sparse run, the keys its products had or
	// now have: the groups its pass may have to rebuild.
	MarkTouched = "duplicates.touched_key"
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config says how products are matched.
type Config struct {
	ByGTIN bool `yaml:"by_gtin"`
	// ByBrandName matches products without a GTIN by normalised brand plus
	// name. It can join different products with equal names: off by default.
	ByBrandName bool `yaml:"by_brand_name"`
	// MinMembers is the least number of active products that form a group.
	MinMembers int `yaml:"min_members"`
}

// Value is the stored field value.
type Value struct {
	Key     string `json:"key"`
	By      string `json:"by"`
	GroupID string `json:"group_id"`
}

// Enricher assigns group keys and maintains groups.
type Enricher struct{ cfg Config }

var (
	_ enrich.Enricher   = (*Enricher)(nil)
	_ enrich.Finisher   = (*Enricher)(nil)
	_ enrich.Splittable = (*Enricher)(nil)
)

// New is the enrich.Factory of the duplicates enricher.
func New(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := Config{ByGTIN: true, MinMembers: 2}
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return Build(cfg)
}

// Build validates cfg and returns the enricher.
func Build(cfg Config) (*Enricher, error) {
	if cfg.MinMembers < 2 {
		return nil, fmt.Errorf("min_members: must be >= 2, got %d", cfg.MinMembers)
	}
	if !cfg.ByGTIN && !cfg.ByBrandName {
		return nil, fmt.Errorf("by_gtin, by_brand_name: enable at least one (or disable the enricher)")
	}
	return &Enricher{cfg: cfg}, nil
}

// GroupID derives a group's id from its key, as the SQL pass does.
func GroupID(key string) string {
	sum := md5.Sum([]byte(key)) //nolint:gosec // see import
	return "g" + hex.EncodeToString(sum[:])[:16]
}

// Key returns p's group key, or false when p cannot be matched.
func (e *Enricher) Key(p *enrich.Product) (Value, bool) {
	if e.cfg.ByGTIN && p.GTIN != "" {
		g := strings.TrimLeft(p.GTIN, "0")
		g = strings.Repeat("0", max(0, 14-len(g))) + g // GTIN-8/12/13 as GTIN-14
		return value("gtin:"+g, "gtin"), true
	}
	if !e.cfg.ByBrandName {
		return Value{}, false
	}
	brand := enrich.Fold(p.Brand)
	var b struct {
		Key string `json:"key"`
	}
	if raw := p.Value(BrandField); raw != nil && json.Unmarshal(raw, &b) == nil && b.Key != "" {
		brand = b.Key
	}
	name := enrich.Fold(p.Name)
	// Suppliers often repeat the brand in the name; drop it so "Bosch
	// Drill X1" and "Drill X1" by Bosch match.
	name = strings.TrimSpace(strings.TrimPrefix(" "+name+" ", " "+brand+" "))
	if brand == "" || name == "" {
		return Value{}, false
	}
	return value("bn:"+brand+"|"+name, "brand_name"), true
}

func value(key, by string) Value { return Value{Key: key, By: by, GroupID: GroupID(key)} }

// Enrich implements enrich.Enricher.
// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

func (e *Enricher) Enrich(_ context.Context, run enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	for _, p := range batch {
		v, ok := e.Key(p)
		if ok {
			out.Set(p, Field, v)
		}
		if run.Sparse && p.Changed {
			// The pass rebuilds the groups of these keys (see Finish).
			if ok {
				out.Mark(MarkTouched, v.Key)
			}
			var old Value
			if raw := p.Stored[Field]; raw != nil && json.Unmarshal(raw, &old) == nil && old.Key != "" && old.Key != v.Key {
				out.Mark(MarkTouched, old.Key)
			}
		}
	}
	return nil
}

// FinishFields implements enrich.Finisher: the pass writes group tables only.
func (e *Enricher) FinishFields() []string { return nil }

// Finish implements enrich.Finisher: it rebuilds the tenant's groups from
// the stored keys of active products, writing only what changed. Only keys
// that two rows share can form a group, so products are looked at for
// those keys alone. After f.Since, only the keys of products changed since
// (as stored now, or through the group they were in) and of groups with a
// member no longer active are rebuilt: no other group can have changed.
func (e *Enricher) Finish(ctx context.Context, db enrich.DB, f enrich.Finish) (int64, error) {
	candidates := `SELECT e.value->>'key' AS key FROM enrichments e WHERE e.tenant_id = $1 AND e.field = $2
		GROUP BY 1 HAVING count(*) >= $3`
	keys := `SELECT k.supplier_code, k.sku, k.key FROM plural k JOIN products p
			ON p.tenant_id = $1 AND p.supplier_code = k.supplier_code AND p.sku = k.sku AND p.active`
	touched := "true"
	args := []any{f.Run.TenantID, Field, e.cfg.MinMembers, f.Run.ID}
	if f.Since != nil {
		// Only keys of products changed since, as stored now or through
		// the group they were in, and groups with a member no longer
		// active can have changed.
		candidates = `SELECT e.value->>'key' AS key FROM products p JOIN enrichments e
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
		// Each candidate's group id is computed once (a hashed subplan).
		touched = `m.group_id IN (SELECT 'g' || left(md5(c.key), 16) FROM candidates c)`
		// The keys a change touched are few: each product is looked up
		// by its key (a subplan, which is never hashed). Joined, the
		// tenant's products were hashed whole to check a few thousand.
		// Only keys stored by enough products to form a group are looked
		// up (plural): fewer cannot have enough active ones.
		keys = `SELECT k.supplier_code, k.sku, k.key FROM plural k
			WHERE (SELECT p.active FROM products p WHERE p.tenant_id = $1 AND p.supplier_code = k.supplier_code AND p.sku = k.sku)`
	}
	// candidates is computed once and joined (its keys are distinct): as
	// an IN (subquery), PostgreSQL may run it again for every row. The
	// rows holding a candidate key are found before products are joined
	// (matched is a fence): planned the other way round, every stored key
	// was joined with its product first. Products are joined, not tested
	// with EXISTS (the key is unique): as a semi-join, a million products
	// were hashed to check six rows.
	q := `WITH candidates AS MATERIALIZED (` + candidates + `), matched AS MATERIALIZED (
		SELECT e.supplier_code, e.sku, c.key FROM enrichments e JOIN candidates c ON c.key = e.value->>'key'
		WHERE e.tenant_id = $1 AND e.field = $2
	), plural AS (
		SELECT k.supplier_code, k.sku, k.key FROM matched k
		WHERE k.key IN (SELECT key FROM matched GROUP BY key HAVING count(*) >= $3)
	), keys AS (` + keys + `
	), shared AS (
		SELECT key, 'g' || left(md5(key), 16) AS group_id FROM keys GROUP BY key HAVING count(*) >= $3
	), members AS (
		SELECT k.supplier_code, k.sku, s.group_id FROM keys k JOIN shared s USING (key)
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
