package gardener

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/heartbeat"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// errCursorMoved: the run's checkpoint is not where this attempt read its
// batch from, so another attempt of the activity committed meanwhile. The
// batch is dropped; the retry goes on from the checkpoint.
var errCursorMoved = errors.New("the run's checkpoint moved past this attempt's batch (another attempt ran): retrying from it")

// Enrich processes batches from the run's checkpoint until the window is
// exhausted, plan.BatchesPerActivity batches are done or half of
// plan.EnrichTimeout has passed, and returns the run's totals.
//
// Four stages overlap, each on its own goroutine: reading the next
// batch's products, reading what is stored for the one before, enriching
// the one before that and diffing it with what is stored, and committing
// the one before that. The reads are apart so that each costs its own
// backend: an incremental run's batch spends as long on each. The
// commit is one transaction per batch that holds the run row's lock,
// checks that the checkpoint is still where the batch was read from,
// writes the delta and the tallies and advances the checkpoint. A crash
// loses at most uncommitted batches, which the retry redoes, and two
// attempts running at once (a zombie) serialise on the lock and never
// write or count a batch twice.
func (a *Activities) Enrich(ctx context.Context, plan wf.Plan) (wf.EnrichResult, error) {
	if err := a.checkVersions(plan); err != nil {
		return wf.EnrichResult{}, err
	}
	var keep []string
	for _, st := range a.Pipeline.Steps() {
		if f, ok := st.Enricher.(enrich.Finisher); ok {
			keep = append(keep, f.FinishFields()...)
		}
	}
	var res wf.EnrichResult
	var change int64
	var pos int
	if err := a.DB.QueryRow(ctx, `SELECT done, cursor_supplier, cursor_sku, cursor_change, cursor_change_pos FROM gardener_runs WHERE run_id = $1`,
		plan.RunID).Scan(&res.Done, &res.CursorSupplier, &res.CursorSKU, &change, &pos); err != nil {
		return res, fmt.Errorf("enrich: checkpoint: %w", err)
	}
	if res.Done {
		return a.checkpoint(ctx, plan)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Unbuffered: each stage holds the one batch it works on, and the
	// worker's heap no more than that (each batch held costs tens of MB
	// and, near the memory limit, garbage collection).
	read, stored, enriched := make(chan *work), make(chan *work), make(chan *work)
	errs := make(chan error, 3)
	go func() { errs <- a.readAhead(ctx, plan, res.CursorSupplier, res.CursorSKU, change, pos, read) }()
	go func() { errs <- a.storedAhead(ctx, plan, read, stored) }()
	go func() { errs <- a.enrichAhead(ctx, plan, keep, stored, enriched) }()
	// Up to commitsInFlight batches are written at once; their checkpoints
	// advance in order (see commit), and results are taken in order.
	var inFlight []chan commitOutcome
	prev := doneGate()
	launched, committed := 0, 0
	// stopAt is the number of batches this activity commits: at most
	// plan.BatchesPerActivity, fewer once half its time is used (a slow
	// enricher, such as an LLM's, then returns before its timeout).
	stopAt := plan.BatchesPerActivity
	deadline := time.Now().Add(plan.EnrichTimeout / 2)
	take := func() (wf.EnrichResult, bool, error) {
		o := <-inFlight[0]
		inFlight = inFlight[1:]
		if o.err != nil {
			return o.res, false, fmt.Errorf("enrich: batch after %s/%s: %w", o.w.afterSupplier, o.w.afterSKU, o.err)
		}
		heartbeat.Record(ctx, o.res)
		committed++
		return o.res, o.res.Done || committed == stopAt, nil
	}
	for w := range enriched {
		if plan.EnrichTimeout > 0 && time.Now().After(deadline) {
			stopAt = launched + 1
		}
		last := len(w.batch) == 0 && !w.more || launched+1 == stopAt
		out, g := make(chan commitOutcome, 1), newGate()
		go func(w *work, prev *gate) {
			res, err := a.commit(ctx, plan, w, last, prev, g)
			out <- commitOutcome{w: w, res: res, err: err}
		}(w, prev)
		prev = g
		inFlight = append(inFlight, out)
		launched++
		for len(inFlight) >= commitsInFlight || last && len(inFlight) > 0 {
			res, stop, err := take()
			if err != nil {
				cancel() // a later batch waits on this one: it gives up
				for len(inFlight) > 0 {
					<-inFlight[0]
					inFlight = inFlight[1:]
				}
				return wf.EnrichResult{}, err
			}
			if stop {
				// A batch after one that found the run done finds it
				// done too, and writes nothing.
				for len(inFlight) > 0 {
					<-inFlight[0]
					inFlight = inFlight[1:]
				}
				return res, nil
			}
		}
	}
	// The stages stopped early: one of them failed (the other then
	// stopped with the canceled context or a closed channel).
	cancel()
	for len(inFlight) > 0 {
		<-inFlight[0]
		inFlight = inFlight[1:]
	}
	for range 3 {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			return wf.EnrichResult{}, fmt.Errorf("enrich: %w", err)
		}
	}
	return wf.EnrichResult{}, errors.New("enrich: the read and enrich stages stopped before the window's end")
}

// readAhead reads up to plan.BatchesPerActivity batches from the cursor on,
// the last one empty when the window ends.
func (a *Activities) readAhead(ctx context.Context, plan wf.Plan, supplier, sku string, change int64, pos int, out chan<- *work) error {
	defer close(out)
	for range plan.BatchesPerActivity {
		w, err := a.readBatch(ctx, plan, supplier, sku, change, pos)
		if err != nil {
			return err
		}
		select {
		case out <- w:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(w.batch) == 0 && !w.more {
			return nil
		}
		if !plan.ChangeLog { // a logged run's key cursor stays at the start (see commit)
			last := w.batch[len(w.batch)-1]
			supplier, sku = last.SupplierCode, last.SKU
		}
		change, pos = w.nextChange, w.nextPos
	}
	return nil
}

// storedAhead reads what is stored for each batch read.
func (a *Activities) storedAhead(ctx context.Context, plan wf.Plan, in <-chan *work, out chan<- *work) error {
	defer close(out)
	for w := range in {
		if len(w.batch) > 0 {
			if err := a.readStored(ctx, plan, w); err != nil {
				return err
			}
		}
		select {
		case out <- w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// enrichAhead runs the enrichers over each batch read, split across the
// cores when its enrichers allow, and diffs the results with what is
// stored.
func (a *Activities) enrichAhead(ctx context.Context, plan wf.Plan, keep []string, in <-chan *work, out chan<- *work) error {
	defer close(out)
	run := enrich.Run{ID: plan.RunID, TenantID: plan.TenantID, SupplierCode: plan.SupplierCode, Now: plan.To, Sparse: !dense(plan)}
	for w := range in {
		if len(w.batch) > 0 {
			t0 := time.Now()
			o, err := a.Pipeline.RunSplit(ctx, run, w.batch, plan.Stale, runtime.GOMAXPROCS(0))
			if err != nil {
				return err
			}
			w.delta = diff(w, o, keep)
			w.tallies, w.marks = o.Tallies, o.Marks
			w.enrichMillis = time.Since(t0).Milliseconds()
		}
		select {
		case out <- w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// checkpoint returns the run's recorded totals and cursor.
func (a *Activities) checkpoint(ctx context.Context, plan wf.Plan) (wf.EnrichResult, error) {
	var res wf.EnrichResult
	err := a.DB.QueryRow(ctx, `SELECT done, cursor_supplier, cursor_sku, batches, processed, skipped, written, deleted
		FROM gardener_runs WHERE run_id = $1`, plan.RunID).Scan(
		&res.Done, &res.CursorSupplier, &res.CursorSKU, &res.Batches, &res.Processed, &res.Skipped, &res.Written, &res.Deleted)
	if err != nil {
		return res, fmt.Errorf("enrich: checkpoint: %w", err)
	}
	return res, nil
}

// writeTallies adds a batch's tallies to the run's.
func writeTallies(ctx context.Context, tx pgx.Tx, plan wf.Plan, tallies map[enrich.Tally]int64) error {
	if len(tallies) == 0 {
		return nil
	}
	var names, keys []string
	var counts []int64
	for t, n := range tallies {
		names, keys, counts = append(names, t.Name), append(keys, t.Key), append(counts, n)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO gardener_tallies AS t (run_id, name, key, count)
		SELECT $1, n, k, c FROM unnest($2::text[], $3::text[], $4::bigint[]) AS x(n, k, c)
		ON CONFLICT (run_id, name, key) DO UPDATE SET count = t.count + excluded.count`,
		plan.RunID, names, keys, counts); err != nil {
		return fmt.Errorf("write: tallies: %w", err)
	}
	return nil
}
