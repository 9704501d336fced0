package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	wf "contextworker/workflows/ingest"
)

// admitState is what one admit transaction reads before it decides.
type admitState struct {
	sources map[string]*sourceState
	prior   map[string]prior
	known   map[string]wf.Outcome
}

// readState takes the sources' advisory locks for the transaction, in the
// order of their lock keys (so two transactions never wait on each other
// in a cycle), and reads the sources' counts, this workflow's earlier
// submissions of items and the known SNOs among ids: one pipeline, whose
// statements run in order, so every read comes after the locks.
func (a *Activities) readState(ctx context.Context, tx pgx.Tx, sub submission, sources, items, ids []string) (*admitState, error) {
	c := a.Config.Admission
	st := &admitState{sources: make(map[string]*sourceState, len(sources)), prior: map[string]prior{}}
	for _, src := range sources {
		st.sources[src] = &sourceState{}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(k) FROM (
			SELECT DISTINCT hashtextextended('ingest ' || $1 || ' ' || s, 0) AS k FROM unnest($2::text[]) AS s ORDER BY 1) AS keys`,
		sub.tenant, sources)
	if c.RateLimit > 0 {
		// Per source, so each count is a scan of its own index range
		// (a plan for all of them at once filtered the whole window).
		b.Queue(`SELECT s, (SELECT count(*) FROM ingest_provenance
				WHERE tenant_id = $1 AND source = s AND received_at > now() - make_interval(secs => $3))
			FROM unnest($2::text[]) AS s`,
			sub.tenant, sources, c.RateWindow.Seconds())
	}
	if c.FloodAfter > 0 {
		// The keys of the flood_scan most recent of each source (a
		// backward scan of its index range, stopped at the limit); their
		// embeddings come from the cache or a second query.
		b.Queue(`SELECT s, p.workflow_id, p.item FROM unnest($2::text[]) AS s CROSS JOIN LATERAL (
				SELECT workflow_id, item FROM ingest_provenance
				WHERE tenant_id = $1 AND source = s AND received_at > now() - make_interval(secs => $3) AND doc_embedding IS NOT NULL
					AND doc_embedder = $5
				ORDER BY received_at DESC LIMIT $4) AS p`, sub.tenant, sources, c.FloodWindow.Seconds(), c.FloodScan, a.Embedder.Name())
	}
	b.Queue(`SELECT p.item, p.sno_id, p.outcome, p.reasons FROM unnest($3::text[]) AS i CROSS JOIN LATERAL (
			SELECT item, sno_id, outcome, reasons FROM ingest_provenance
			WHERE tenant_id = $1 AND workflow_id = $2 AND item = i) AS p`, sub.tenant, sub.workflowID, items)
	b.Queue(knownSQL, sub.tenant, ids)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("lock sources: %w", err)
	}
	var src string
	if c.RateLimit > 0 {
		var n int
		rows, err := br.Query()
		if err == nil {
			_, err = pgx.ForEachRow(rows, []any{&src, &n}, func() error { st.sources[src].inRateWindow = n; return nil })
		}
		if err != nil {
			return nil, fmt.Errorf("count documents of sources: %w", err)
		}
	}
	var recent []recentRef
	if c.FloodAfter > 0 {
		var r recentRef
		rows, err := br.Query()
		if err == nil {
			_, err = pgx.ForEachRow(rows, []any{&r.source, &r.workflowID, &r.item}, func() error { recent = append(recent, r); return nil })
		}
		if err != nil {
			return nil, fmt.Errorf("recent documents of sources: %w", err)
		}
	}
	rows, err := br.Query()
	if err == nil {
		var item string
		var p prior
		_, err = pgx.ForEachRow(rows, []any{&item, &p.SNOID, &p.Status, &p.Reasons}, func() error {
			st.prior[item] = prior{SNOID: p.SNOID, Status: p.Status, Reasons: slices.Clone(p.Reasons)}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("read earlier submissions: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, fmt.Errorf("read known SNOs: %w", err)
	}
	if st.known, err = collectKnown(rows); err != nil {
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	return st, a.fillRecent(ctx, tx, sub.tenant, recent, st.sources)
}

// forEachVector calls f with each row's text columns and its last
// column, a float4[]. The array is decoded from its binary form directly:
// pgx's generic array scanning cost more than the rest of the transaction.
func forEachVector(rows pgx.Rows, f func([]string, []float32)) error {
	defer rows.Close()
	fd := rows.FieldDescriptions()
	if len(fd) == 0 {
		return rows.Err()
	}
	last := len(fd) - 1
	binaryVec := fd[last].Format == pgtype.BinaryFormatCode
	for rows.Next() {
		keys := make([]string, last)
		dst := make([]any, len(fd))
		for i := range keys {
			dst[i] = &keys[i]
		}
		var vec []float32
		if !binaryVec {
			dst[last] = &vec
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		if binaryVec {
			var err error
			if vec, err = decodeFloat4Array(rows.RawValues()[last]); err != nil {
				return err
			}
		}
		f(keys, vec)
	}
	return rows.Err()
}

var errFloat4Array = errors.New("decode float4[]: not a one-dimensional float4 array without NULLs")

// decodeFloat4Array decodes PostgreSQL's binary form of a one-dimensional
// float4[] without NULL elements: ndim, has-null flag, element type, then
// the dimension's length and lower bound, then (length, IEEE 754 bits) per
// element.
func decodeFloat4Array(b []byte) ([]float32, error) {
	if len(b) < 12 {
		return nil, errFloat4Array
	}
	ndim, hasNull, elem := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])
	if ndim == 0 {
		return []float32{}, nil
	}
	if ndim != 1 || hasNull != 0 || elem != pgtype.Float4OID || len(b) < 20 {
		return nil, errFloat4Array
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	b = b[20:]
	if n < 0 || len(b) != 8*n {
		return nil, errFloat4Array
	}
	out := make([]float32, n)
	for i := range out {
		if binary.BigEndian.Uint32(b[8*i:]) != 4 {
			return nil, errFloat4Array
		}
		out[i] = math.Float32frombits(binary.BigEndian.Uint32(b[8*i+4:]))
	}
	return out, nil
}
