package enrich

import (
	"context"
	"encoding/json"
)

// Cache stores JSON answers by key. The gardener backs it with PostgreSQL
// (table llm_cache); tests use a map.
type Cache interface {
	// Get returns the answers stored for keys; missing keys are absent.
	Get(ctx context.Context, keys []string) (map[string]json.RawMessage, error)
	// Put stores answers by key; an existing key keeps its answer.
	Put(ctx context.Context, answers map[string]json.RawMessage) error
}
