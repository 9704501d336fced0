package harvest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	wf "contextworker/workflows/harvest"
)

// checkpoint is the Stage activity's durable progress (harvest_stage_progress).
type checkpoint struct {
	// Rows: every feed row up to here is staged (done.prefix).
	Rows     int64 `json:"rows_consumed"`
	Valid    int64 `json:"valid"`
	Rejected int64 `json:"rejected"`
	Bytes    int64 `json:"bytes"`
	Attempts int   `json:"attempts"`
	Resumed  int64 `json:"resumed_from"`
	v        validators
	done     doneRows
	// undeclared: the feed's length was undeclared (see StageResult).
	undeclared bool
	// lost: an earlier attempt's checkpoint was lost in a database crash.
	lost bool
}

// result is what staging found, as the workflow sees it.
func (cp checkpoint) result() wf.StageResult {
	return wf.StageResult{Bytes: cp.Bytes, RowsRead: cp.Valid + cp.Rejected, Valid: cp.Valid, Rejected: cp.Rejected,
		Attempts: cp.Attempts, ResumedFrom: cp.Resumed, LengthUndeclared: cp.undeclared, CheckpointLost: cp.lost}
}

func (a *Activities) loadCheckpoint(ctx context.Context, runID string) (checkpoint, bool, error) {
	var cp checkpoint
	var etag, lm *string
	var length *int64
	err := a.DB.QueryRow(ctx, `SELECT rows_consumed, rows_valid, rows_rejected, feed_bytes, etag, last_modified, length, attempts
		FROM harvest_stage_progress WHERE run_id = $1`, runID).Scan(&cp.Rows, &cp.Valid, &cp.Rejected, &cp.Bytes, &etag, &lm, &length, &cp.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("stage: load checkpoint: %w", err)
	}
	cp.v = validators{ETag: deref(etag), LastModified: deref(lm), Length: derefInt(length)}
	if cp.done, err = loadDone(ctx, a.DB, runID); err != nil {
		return cp, false, err
	}
	if !cp.started() && cp.Rows > 0 {
		cp.done.prefix = cp.Rows // written by a worker that staged in feed order only
	}
	cp.Rows = cp.done.prefix
	return cp, true, nil
}

// started reports whether an earlier attempt staged any batch.
func (cp checkpoint) started() bool { return cp.done.prefix > 0 || len(cp.done.ranges) > 0 }

// execer is a pool or a transaction.
type execer interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}

// saveCheckpoint writes the whole checkpoint (a batch adds to it with
// commitBatch instead).
func saveCheckpoint(ctx context.Context, db execer, runID string, cp checkpoint) error {
	_, err := db.Exec(ctx, `INSERT INTO harvest_stage_progress (run_id, rows_consumed, rows_valid, rows_rejected, feed_bytes, etag, last_modified, length, attempts, resumed_from, done)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::int8multirange)
		ON CONFLICT (run_id) DO UPDATE SET rows_consumed = excluded.rows_consumed, rows_valid = excluded.rows_valid,
			rows_rejected = excluded.rows_rejected, feed_bytes = excluded.feed_bytes, etag = excluded.etag,
			last_modified = excluded.last_modified, length = excluded.length, attempts = excluded.attempts,
			resumed_from = excluded.resumed_from, done = excluded.done`,
		runID, cp.Rows, cp.Valid, cp.Rejected, cp.Bytes, nullable(cp.v.ETag), nullable(cp.v.LastModified), cp.v.Length, cp.Attempts, cp.Resumed,
		cp.done.literal())
	if err != nil {
		return fmt.Errorf("stage: save checkpoint: %w", err)
	}
	return nil
}

func (a *Activities) lastValidators(ctx context.Context, plan wf.Plan) (*validators, error) {
	var etag, lm *string
	err := a.DB.QueryRow(ctx, `SELECT etag, last_modified FROM harvest_feeds WHERE tenant_id = $1 AND supplier_code = $2 AND feed_url = $3`,
		plan.TenantID, plan.SupplierCode, plan.FeedURL).Scan(&etag, &lm)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stage: load feed validators: %w", err)
	}
	if deref(etag) == "" && deref(lm) == "" {
		return nil, nil
	}
	return &validators{ETag: deref(etag), LastModified: deref(lm)}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

// liveProgress is what Stage heartbeats: the checkpoint as batches commit.
// Its JSON (the heartbeat details) is taken under its lock, so the
// heartbeat goroutine reads it safely while batches add to it.
type liveProgress struct {
	mu sync.Mutex
	cp checkpoint
}

func (l *liveProgress) set(cp checkpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cp = cp
}

// add counts a committed batch and returns the new totals.
func (l *liveProgress) add(b batchSource) checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cp.Rows = max(l.cp.Rows, b.hi)
	l.cp.Valid += b.valid
	l.cp.Rejected += int64(len(b.rejects))
	return l.cp
}

// MarshalJSON encodes the current checkpoint.
func (l *liveProgress) MarshalJSON() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return json.Marshal(l.cp)
}

// countAttempt counts a Stage attempt in harvest_runs, which is logged, so
// the count survives a database crash (the UNLOGGED checkpoint does not).
// An attempt that finds no checkpoint although an earlier one started
// (which always writes one first) lost it to a crash: that is recorded,
// so the report says why staging started again from row 1.
func (a *Activities) countAttempt(ctx context.Context, runID string, found bool) (attempts int, lost bool, err error) {
	err = a.DB.QueryRow(ctx, `UPDATE harvest_runs SET stage_attempts = stage_attempts + 1,
			checkpoint_lost = checkpoint_lost OR (stage_attempts > 0 AND NOT $2)
		WHERE run_id = $1 RETURNING stage_attempts, checkpoint_lost`, runID, found).Scan(&attempts, &lost)
	if err != nil {
		return 0, false, fmt.Errorf("stage: count attempt: %w", err)
	}
	return attempts, lost, nil
}
