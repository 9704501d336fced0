// Package auditlog reads deploy_audit for the API (GET /v1/audit): one
// tenant's rows, optionally of one workflow, in id order and in pages.
// Read-only: it never writes the table (the deploy activities append).
package auditlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/ident"
)

// MaxLimit bounds a page.
const MaxLimit = 1000

// Entry is one audited command.
type Entry struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	TenantID    string    `json:"tenant_id"`
	WorkflowID  string    `json:"workflow_id"`
	RunID       string    `json:"run_id"`
	Target      string    `json:"target"`
	Step        string    `json:"step"`
	Phase       string    `json:"phase"`
	Argv        []string  `json:"argv"`
	Cwd         string    `json:"cwd"`
	ExitCode    *int      `json:"exit_code"`
	DurationMS  *int64    `json:"duration_ms"`
	StdoutBytes int64     `json:"stdout_bytes"`
	StderrBytes int64     `json:"stderr_bytes"`
	OutputTail  string    `json:"output_tail"`
	Truncated   bool      `json:"truncated"`
	RefusedRule *string   `json:"refused_rule"`
	Error       *string   `json:"error"`
	Requester   *string   `json:"requester"`
}

// Query selects rows. TenantID is required: a caller only ever reads its
// own tenant's audit.
type Query struct {
	TenantID   string
	WorkflowID string
	// AfterID pages: rows with a greater id.
	AfterID int64
	// Limit is 1..MaxLimit; 0 means 100.
	Limit int
}

// Querier is what List reads through (a *pgxpool.Pool or a pgx.Tx).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// List returns the rows of q in id order.
func List(ctx context.Context, db Querier, q Query) ([]Entry, error) {
	if !ident.Valid(q.TenantID) {
		return nil, errors.New("audit: a tenant is required")
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return nil, fmt.Errorf("audit: limit %d is outside 1..%d", q.Limit, MaxLimit)
	}
	if len(q.WorkflowID) > 512 || q.AfterID < 0 {
		return nil, errors.New("audit: bad workflow_id or after")
	}
	rows, err := db.Query(ctx, `SELECT id, at, tenant_id, workflow_id, run_id, target, step, phase, argv, cwd, exit_code,
		duration_ms, stdout_bytes, stderr_bytes, output_tail, truncated, refused_rule, error, requester
		FROM deploy_audit
		WHERE tenant_id = $1 AND ($2 = '' OR workflow_id = $2) AND id > $3
		ORDER BY id LIMIT $4`, q.TenantID, q.WorkflowID, q.AfterID, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.ID, &e.At, &e.TenantID, &e.WorkflowID, &e.RunID, &e.Target, &e.Step, &e.Phase, &e.Argv, &e.Cwd,
			&e.ExitCode, &e.DurationMS, &e.StdoutBytes, &e.StderrBytes, &e.OutputTail, &e.Truncated, &e.RefusedRule, &e.Error, &e.Requester)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
