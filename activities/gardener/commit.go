package gardener

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// commitsInFlight is how many batches are written at once: while one
// waits for its predecessor's checkpoint, the next one's rows go in on
// another connection (COPY is most of a first run's time).
const commitsInFlight = 2

// errRunDone rolls back a batch written for a run that another attempt
// finished meanwhile.
var errRunDone = errors.New("the run's batches are done")

// gate is closed when a batch's transaction has ended; ok says whether it
// committed.
type gate struct {
	done chan struct{}
	ok   bool
}

func newGate() *gate { return &gate{done: make(chan struct{})} }

// doneGate is the gate before an activity's first batch: open.
func doneGate() *gate {
	g := newGate()
	g.ok = true
	close(g.done)
	return g
}

func (g *gate) close(ok bool) {
	g.ok = ok
	close(g.done)
}

// commitOutcome is one batch's commit, taken by Enrich in batch order.
type commitOutcome struct {
	w   *work
	res wf.EnrichResult
	err error
}

// commit writes one batch and advances the checkpoint past it, or marks
// the run done when the batch is empty, in one transaction. The rows go in
// first, alongside the previous batch's transaction; then the transaction
// waits for that one to end (prev), locks the run row, checks that the
// checkpoint is where this batch was read from, and only then adds the
// tallies and advances the checkpoint. A checkpoint elsewhere (another
// attempt ran: a zombie) or a predecessor that failed rolls the rows back.
// Concurrent batches write disjoint products, and take the run row (and
// then the tallies) one after the other, in batch order: they never wait
// for each other's rows.
//
// Only the activity's last commit waits for the WAL flush, which flushes
// the others with it: what the activity returns is durable, and a crash
// before then loses batches together with their checkpoint, which the
// retry redoes.
func (a *Activities) commit(ctx context.Context, plan wf.Plan, w *work, last bool, prev, g *gate) (wf.EnrichResult, error) {
	var res wf.EnrichResult
	var batchWritten int64 = -1 // set once the batch is written in the transaction
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		// A transaction waits for the one before it outside PostgreSQL,
		// where its deadlock detector cannot see: should a lock ever close
		// a cycle through that wait, lock_timeout fails the batch (and
		// the activity, which is retried) instead of hanging it.
		settings := fmt.Sprintf(`SET LOCAL lock_timeout = %d`, max(plan.HeartbeatTimeout.Milliseconds(), 1000))
		if !last {
			settings += `; SET LOCAL synchronous_commit = off`
		}
		if _, err := tx.Exec(ctx, settings); err != nil {
			return err
		}
		t1 := time.Now()
		var written, deleted int64
		if len(w.batch) > 0 {
			var err error
			if written, deleted, err = write(ctx, tx, plan, w.delta); err != nil {
				return err
			}
			if err := writeMarks(ctx, tx, plan, w.marks); err != nil {
				return err
			}
		}
		writing := time.Since(t1) // not the wait for the batch before
		select {
		case <-prev.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !prev.ok {
			return errors.New("the batch before it failed")
		}
		// FOR NO KEY UPDATE (the row's key never changes): no lock the
		// next batch's transaction holds while it waits for this one
		// conflicts with it (its rows and marks reference no other row),
		// and the final phases still take turns: NO KEY UPDATE locks
		// exclude each other.
		var change int64
		var pos int
		if err := tx.QueryRow(ctx, `SELECT done, cursor_supplier, cursor_sku, batches, processed, skipped, written, deleted, cursor_change, cursor_change_pos
			FROM gardener_runs WHERE run_id = $1 FOR NO KEY UPDATE`, plan.RunID).Scan(
			&res.Done, &res.CursorSupplier, &res.CursorSKU, &res.Batches, &res.Processed, &res.Skipped, &res.Written, &res.Deleted, &change, &pos); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if res.Done {
			return errRunDone
		}
		// A logged run's checkpoint is its place in the change log too:
		// two batches may end on the same product (a SKU logged twice).
		if res.CursorSupplier != w.afterSupplier || res.CursorSKU != w.afterSKU || change != w.afterChange || pos != w.afterPos {
			return errCursorMoved
		}
		res.Skipped += w.skipped
		if len(w.batch) == 0 && w.more {
			// Nothing to read so far: the cursor moves past what was skipped.
			_, err := tx.Exec(ctx, `UPDATE gardener_runs SET skipped = $2, cursor_change = $3, cursor_change_pos = $4 WHERE run_id = $1`,
				plan.RunID, res.Skipped, w.nextChange, w.nextPos)
			return err
		}
		if len(w.batch) == 0 {
			res.Done = true
			_, err := tx.Exec(ctx, `UPDATE gardener_runs SET done = true, skipped = $2 WHERE run_id = $1`, plan.RunID, res.Skipped)
			return err
		}
		if err := writeTallies(ctx, tx, plan, w.tallies); err != nil {
			return err
		}
		if !plan.ChangeLog {
			// A logged run's place is in the log (cursor_change): its
			// batches are not in key order, and its key cursor stays at
			// the start, so that a worker from before the log that took
			// the run over would walk the window whole, not skip keys.
			end := w.batch[len(w.batch)-1]
			res.CursorSupplier, res.CursorSKU = end.SupplierCode, end.SKU
		}
		res.Batches++
		res.Processed += int64(len(w.batch))
		res.Written += written
		res.Deleted += deleted
		batchWritten = written
		_, err := tx.Exec(ctx, `UPDATE gardener_runs SET cursor_supplier = $2, cursor_sku = $3, batches = $4, processed = $5,
				written = $6, deleted = $7, enrich_ms = enrich_ms + $8, write_ms = write_ms + $9, cursor_change = $10, cursor_change_pos = $11,
				skipped = $12
			WHERE run_id = $1`, plan.RunID, res.CursorSupplier, res.CursorSKU, res.Batches, res.Processed, res.Written, res.Deleted,
			w.enrichMillis, writing.Milliseconds(), w.nextChange, w.nextPos, res.Skipped)
		return err
	})
	g.close(err == nil || errors.Is(err, errRunDone))
	if errors.Is(err, errRunDone) {
		return res, nil
	}
	if err == nil && batchWritten >= 0 {
		a.Metrics.batch(int64(len(w.batch)), batchWritten)
	}
	return res, err
}

// writeMarks COPYs a batch's marks (enrich.Output.Mark) into gardener_marks.
func writeMarks(ctx context.Context, tx pgx.Tx, plan wf.Plan, marks []enrich.Tally) error {
	if len(marks) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"gardener_marks"}, []string{"run_id", "name", "key"},
		pgx.CopyFromSlice(len(marks), func(i int) ([]any, error) {
			return []any{plan.RunID, marks[i].Name, marks[i].Key}, nil
		}))
	if err != nil {
		return fmt.Errorf("write: marks: %w", err)
	}
	return nil
}
