package ingest

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contextworker/modules/ingest/embed"
)

// indexes holds each tenant's admitted hypothesis embeddings in memory,
// one index per tenant and embedder (vectors of different embedders are
// not comparable, and may differ in dimension), loaded incrementally from
// ingest_vectors. A worker process keeps the tenants it has served; the
// figure to plan with is about 35 MiB per 100k admitted SNOs with the
// hashing embedder (sparse vectors, see embed.Index) and 160 MiB with a
// dense 384-dimension one.
type indexes struct {
	mu sync.Mutex
	m  map[string]*tenantIndex
}

type tenantIndex struct {
	refresh sync.Mutex
	idx     *embed.Index
	loaded  map[int64]bool
}

func newIndexes() *indexes { return &indexes{m: map[string]*tenantIndex{}} }

// recentWindow is how far back by time each refresh re-reads: a vector
// whose seq was taken before one already loaded but committed after it
// is picked up by time instead.
const recentWindow = "5 minutes"

// get returns the index of tenant's vectors made by embedder, brought up
// to date with the database.
func (x *indexes) get(ctx context.Context, db *pgxpool.Pool, tenant, embedder string) (*embed.Index, error) {
	key := tenant + "\x00" + embedder
	x.mu.Lock()
	ti, ok := x.m[key]
	if !ok {
		ti = &tenantIndex{idx: embed.NewIndex(0), loaded: map[int64]bool{}}
		x.m[key] = ti
	}
	x.mu.Unlock()
	ti.refresh.Lock()
	defer ti.refresh.Unlock()
	// New vectors; then the sequence numbers (only) of the recent ones
	// below the highest loaded, to fetch any that committed late.
	if err := ti.load(ctx, db, vectorsOf+`seq > $3 ORDER BY seq`, tenant, embedder, ti.idx.Seq()); err != nil {
		return nil, fmt.Errorf("load vectors of %s: %w", tenant, err)
	}
	rows, err := db.Query(ctx, `SELECT seq FROM ingest_vectors WHERE tenant_id = $1 AND seq <= $2
		AND added_at > now() - interval '`+recentWindow+`'`, tenant, ti.idx.Seq())
	if err != nil {
		return nil, fmt.Errorf("load vectors of %s: %w", tenant, err)
	}
	recent, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("load vectors of %s: %w", tenant, err)
	}
	var missing []int64
	for _, seq := range recent {
		if !ti.loaded[seq] {
			missing = append(missing, seq)
		}
	}
	if len(missing) > 0 {
		if err := ti.load(ctx, db, vectorsOf+`seq = ANY($3)`, tenant, embedder, missing); err != nil {
			return nil, fmt.Errorf("load late vectors of %s: %w", tenant, err)
		}
	}
	return ti.idx, nil
}

// vectorsOf selects a tenant's ($1) vectors made by an embedder ($2).
const vectorsOf = `SELECT seq, sno_id, embedding FROM ingest_vectors WHERE tenant_id = $1 AND embedder = $2 AND `

func (ti *tenantIndex) load(ctx context.Context, db *pgxpool.Pool, sql string, args ...any) error {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var seq int64
	var id string
	var vec []float32
	_, err = pgx.ForEachRow(rows, []any{&seq, &id, &vec}, func() error {
		if !ti.loaded[seq] {
			ti.loaded[seq] = true
			ti.idx.Add(id, vec, seq)
		}
		return nil
	})
	return err
}
