package ingest

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// docVecCacheSize bounds the documents' embeddings a worker keeps for the
// flood detector: 16384 × 1.5 KiB = 24 MiB at 384 dimensions.
const docVecCacheSize = 16384

// docVecCache keeps the embeddings of recently submitted documents by
// their provenance key (tenant, workflow id, item), so that an admit
// transaction reads from PostgreSQL only the keys of its sources' recent
// documents, and the embeddings of those it does not hold. A provenance
// row's embedding never changes once written, except that deleting its
// SNO clears it; the keys query skips cleared ones, so a cached vector is
// only used while the database still has it. The zero value is ready;
// it is safe for concurrent use. Eviction is first in, first out.
type docVecCache struct {
	mu   sync.Mutex
	m    map[string][]float32
	ring []string
	next int
}

func docKey(tenant, workflowID, item string) string {
	return tenant + "\x00" + workflowID + "\x00" + item
}

func (c *docVecCache) get(key string) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *docVecCache) put(key string, v []float32) {
	if v == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.ring = map[string][]float32{}, make([]string, docVecCacheSize)
	}
	if _, ok := c.m[key]; ok {
		return
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.m, old)
	}
	c.ring[c.next], c.m[key] = key, v
	c.next = (c.next + 1) % len(c.ring)
}

// recentRef is one recent document of a source, as the keys query
// returns it.
type recentRef struct{ source, workflowID, item string }

// fillRecent sets the sources' recent embeddings from refs: from the
// cache, and the others in one query (keyed lookups).
func (a *Activities) fillRecent(ctx context.Context, tx pgx.Tx, tenant string, refs []recentRef, st map[string]*sourceState) error {
	var wids, items []string
	for _, r := range refs {
		if v, ok := a.recentVecs.get(docKey(tenant, r.workflowID, r.item)); ok {
			st[r.source].recent = append(st[r.source].recent, v)
		} else {
			wids, items = append(wids, r.workflowID), append(items, r.item)
		}
	}
	if len(wids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT p.source, p.workflow_id, p.item, p.doc_embedding
		FROM unnest($2::text[], $3::text[]) AS k(w, i) CROSS JOIN LATERAL (
			SELECT source, workflow_id, item, doc_embedding FROM ingest_provenance
			WHERE tenant_id = $1 AND workflow_id = k.w AND item = k.i AND doc_embedding IS NOT NULL) AS p`, tenant, wids, items)
	if err != nil {
		return fmt.Errorf("recent documents of sources: %w", err)
	}
	err = forEachVector(rows, func(key []string, vec []float32) {
		st[key[0]].recent = append(st[key[0]].recent, vec)
		a.recentVecs.put(docKey(tenant, key[1], key[2]), vec)
	})
	if err != nil {
		return fmt.Errorf("recent documents of sources: %w", err)
	}
	return nil
}
