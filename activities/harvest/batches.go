package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
)

// doneRows is the set of feed rows an earlier attempt already staged: a
// prefix (rows 1..prefix) and, when several streams committed out of order,
// a few ranges beyond it. Replayed rows are read but not written again.
type doneRows struct {
	prefix int64
	ranges [][2]int64 // (lo, hi], sorted (loadDone's ORDER BY), all above prefix
}

func (d doneRows) has(row int64) bool {
	if row <= d.prefix {
		return true
	}
	for _, r := range d.ranges {
		if row > r[0] && row <= r[1] {
			return true
		}
	}
	return false
}

// literal is d as an int8multirange literal.
func (d doneRows) literal() string {
	var parts []string
	if d.prefix > 0 {
		parts = append(parts, fmt.Sprintf("(0,%d]", d.prefix))
	}
	for _, r := range d.ranges {
		parts = append(parts, fmt.Sprintf("(%d,%d]", r[0], r[1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// batchSource is one transaction's rows as a binary COPY stream: the
// header, the tuples the cutter hands over until it closes items, and the
// trailer. It also gathers the batch's rejects and counts.
type batchSource struct {
	items chan []item
	lo    int64 // the batch covers feed rows (lo, hi]

	chunk   []item
	hi      int64
	valid   int64
	rejects []reject
	err     error

	pending []byte
	// pendingBlk holds pending, a tuple, until it is read whole.
	pendingBlk     *block
	started, ended bool
}

func (s *batchSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.pending) > 0 {
			c := copy(p[n:], s.pending)
			s.pending = s.pending[c:]
			n += c
			if len(s.pending) == 0 && s.pendingBlk != nil {
				s.pendingBlk.release()
				s.pendingBlk = nil
			}
			continue
		}
		switch {
		case !s.started:
			s.started, s.pending = true, copyHeader
			continue
		case s.ended:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		t, blk, ok := s.next()
		if s.err != nil {
			return n, s.err
		}
		if !ok {
			s.ended, s.pending = true, copyTrailer
			continue
		}
		s.pending, s.pendingBlk = t, blk
	}
	return n, nil
}

// next returns the next tuple to write and its block; false at the end of
// the batch.
func (s *batchSource) next() (tuple, *block, bool) {
	for {
		if len(s.chunk) == 0 {
			chunk, ok := <-s.items
			if !ok {
				return nil, nil, false
			}
			s.chunk = chunk
			continue
		}
		it := s.chunk[0]
		s.chunk = s.chunk[1:]
		if it.err != nil {
			s.err = it.err
			return nil, nil, false
		}
		s.hi = max(s.hi, it.row)
		switch {
		case it.rej != nil:
			s.rejects = append(s.rejects, *it.rej)
			continue
		case it.retro:
			// its row was counted when it was read
		default:
			s.valid++
		}
		if it.tuple != nil {
			return it.tuple, it.blk, true
		}
	}
}

// drain empties the batch after a failure, so the cutter never blocks.
func (s *batchSource) drain() {
	for range s.items {
	}
}

// copyBatches cuts the producer's rows into batches of size feed rows and
// commits each batch in its own transaction on one of streams connections:
// the rows (COPY into table), their rejects, and the checkpoint's
// increments, so each batch is staged exactly once whatever the order in
// which the streams commit. Several streams keep several PostgreSQL
// backends busy; the producer already keeps the cores busy in Go.
func (a *Activities) copyBatches(ctx context.Context, runID, table string, columns []string, prod *producer,
	start int64, size, streams int, progress func(batchSource) checkpoint) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan *batchSource)
	var wg sync.WaitGroup
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := a.commitBatch(ctx, runID, table, columns, b); err != nil {
					cancel(err)
					b.drain()
					continue
				}
				activity.RecordHeartbeat(ctx, progress(*b))
			}
		}()
	}
	err := cut(ctx, prod.out, start, size, batches)
	close(batches)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// cut hands out the producer's rows in batches of size rows. A retroactive
// slim row stays in the batch of the row that caused it.
func cut(ctx context.Context, in <-chan []item, lo int64, size int, out chan<- *batchSource) error {
	var cur *batchSource
	n := 0
	closeCur := func() {
		if cur != nil {
			close(cur.items)
			cur = nil
			n = 0
		}
	}
	defer closeCur()
	for {
		var chunk []item
		select {
		case c, ok := <-in:
			if !ok {
				return nil
			}
			chunk = c
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		for len(chunk) > 0 {
			if cur == nil {
				cur = &batchSource{items: make(chan []item, 4), lo: lo}
				select {
				case out <- cur:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			take := min(len(chunk), size-n)
			for take < len(chunk) && chunk[take-1].retro {
				take++
			}
			for _, it := range chunk[:take] {
				lo = max(lo, it.row)
			}
			select {
			case cur.items <- chunk[:take]:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			n += take
			chunk = chunk[take:]
			if n >= size {
				closeCur()
			}
		}
	}
}

// commitBatch stages one batch: rows, rejects and checkpoint in one
// transaction.
func (a *Activities) commitBatch(ctx context.Context, runID, table string, columns []string, b *batchSource) error {
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		// A batch lost with a database crash after its commit is lost with
		// its checkpoint (same transaction, and the checkpoint table is
		// UNLOGGED anyway): the retry stages it again. So its commit need
		// not wait for the WAL flush.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		cols := make([]string, len(columns))
		for i, c := range columns {
			cols[i] = pgx.Identifier{c}.Sanitize()
		}
		copySQL := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", table, strings.Join(cols, ", "))
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, b, copySQL); err != nil {
			if b.err != nil {
				return b.err
			}
			return fmt.Errorf("stage: copy rows: %w", err)
		}
		if b.err != nil {
			return b.err
		}
		if len(b.rejects) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"harvest_rejects"}, []string{"run_id", "row_no", "sku", "reason", "raw"},
				pgx.CopyFromSlice(len(b.rejects), func(i int) ([]any, error) {
					r := b.rejects[i]
					return []any{runID, r.row, nullable(r.sku), r.reason, r.raw}, nil
				})); err != nil {
				return fmt.Errorf("stage: copy rejects: %w", err)
			}
		}
		if b.hi <= b.lo {
			return nil // only rows an earlier attempt staged
		}
		// done grows by (lo, hi]; rows_consumed is its prefix from row 1.
		_, err := tx.Exec(ctx, `UPDATE harvest_stage_progress SET done = done + int8multirange(int8range($2, $3, '(]')),
				rows_valid = rows_valid + $4, rows_rejected = rows_rejected + $5,
				rows_consumed = coalesce((SELECT upper(r) - 1 FROM unnest(done + int8multirange(int8range($2, $3, '(]'))) r WHERE lower(r) = 1), 0)
			WHERE run_id = $1`, runID, b.lo, b.hi, b.valid, len(b.rejects))
		if err != nil {
			return fmt.Errorf("stage: save checkpoint: %w", err)
		}
		return nil
	})
}

// loadDone reads the rows staged by earlier attempts.
func loadDone(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, runID string) (doneRows, error) {
	rows, err := q.Query(ctx, `SELECT lower(r) - 1, upper(r) - 1 FROM harvest_stage_progress, unnest(done) r WHERE run_id = $1 ORDER BY 1`, runID)
	if err != nil {
		return doneRows{}, fmt.Errorf("stage: load checkpoint: %w", err)
	}
	var d doneRows
	for rows.Next() {
		var r [2]int64
		if err := rows.Scan(&r[0], &r[1]); err != nil {
			return doneRows{}, err
		}
		if r[0] == 0 {
			d.prefix = r[1]
		} else {
			d.ranges = append(d.ranges, r)
		}
	}
	if err := rows.Err(); err != nil {
		return doneRows{}, fmt.Errorf("stage: load checkpoint: %w", err)
	}
	return d, nil
}
