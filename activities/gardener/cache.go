package gardener

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"contextworker/modules/gardener/enrich"
)

// Cache is the PostgreSQL-backed enrich.Cache (table llm_cache).
type Cache struct{ db *pgxpool.Pool }

var _ enrich.Cache = (*Cache)(nil)

// NewCache returns a cache on db.
func NewCache(db *pgxpool.Pool) *Cache { return &Cache{db: db} }

// Get implements enrich.Cache.
func (c *Cache) Get(ctx context.Context, keys []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := c.db.Query(ctx, `SELECT cache_key, answer FROM llm_cache WHERE cache_key = ANY ($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v json.RawMessage
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Put implements enrich.Cache.
func (c *Cache) Put(ctx context.Context, answers map[string]json.RawMessage) error {
	if len(answers) == 0 {
		return nil
	}
	keys := make([]string, 0, len(answers))
	vals := make([]string, 0, len(answers))
	for k, v := range answers {
		keys, vals = append(keys, k), append(vals, string(v))
	}
	_, err := c.db.Exec(ctx, `INSERT INTO llm_cache (cache_key, answer) SELECT k, v::jsonb FROM unnest($1::text[], $2::text[]) AS x(k, v)
		ON CONFLICT (cache_key) DO NOTHING`, keys, vals)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}
