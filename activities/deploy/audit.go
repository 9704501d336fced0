package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"

	"contextworker/modules/deploy/policy"
	"contextworker/modules/deploy/remote"
	wf "contextworker/workflows/deploy"
)

// AuditRow is one row of deploy_audit.
type AuditRow struct {
	TenantID    string
	WorkflowID  string
	RunID       string
	Target      string
	Step        string
	Phase       string // started, finished, refused
	Argv        []string
	Cwd         string
	ExitCode    *int
	Duration    time.Duration
	StdoutBytes int64
	StderrBytes int64
	Tail        string
	Truncated   bool
	RefusedRule string
	Error       string
	Requester   string
}

// Audit phases.
const (
	PhaseStarted  = "started"
	PhaseFinished = "finished"
	PhaseRefused  = "refused"
)

func auditFor(p wf.Plan, step string, c remote.Command, res remote.Result, err error) AuditRow {
	code := res.ExitCode
	row := AuditRow{TenantID: p.TenantID, WorkflowID: p.WorkflowID, Target: p.Target, Step: step, Phase: PhaseFinished,
		Argv: c.Argv, Cwd: c.Dir, ExitCode: &code, Duration: res.Duration, StdoutBytes: res.StdoutBytes,
		StderrBytes: res.StderrBytes, Tail: res.Tail, Truncated: res.Truncated, Requester: p.Requester}
	if err != nil {
		row.Error = err.Error()
	}
	return row
}

func refusalRow(p wf.Plan, c policy.Command, err error) AuditRow {
	row := AuditRow{TenantID: p.TenantID, WorkflowID: p.WorkflowID, Target: p.Target, Step: c.Step, Phase: PhaseRefused,
		Argv: c.Argv, Cwd: c.Dir, Error: err.Error(), Requester: p.Requester}
	var r *policy.Refusal
	if errors.As(err, &r) {
		row.RefusedRule = r.Rule
	}
	return row
}

// clip keeps valid UTF-8 without NUL (PostgreSQL text refuses both) and
// bounds the size.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
	if len(s) > n {
		s = s[len(s)-n:]
		for !utf8.ValidString(s) {
			s = s[1:]
		}
	}
	return s
}

// audit appends row to deploy_audit. The run id comes from the activity.
// Writing is retried briefly; a row that still can not be written is
// logged loudly and returned.
func (a *Activities) audit(ctx context.Context, row AuditRow) error {
	if a.DB == nil {
		return errors.New("audit: no database")
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		row.RunID = info.WorkflowExecution.RunID
		if row.WorkflowID == "" {
			row.WorkflowID = info.WorkflowExecution.ID
		}
	}
	argv := make([]string, len(row.Argv))
	for i, s := range row.Argv {
		argv[i] = clip(s, 4096)
	}
	var ms *int64
	if row.Phase == PhaseFinished {
		d := row.Duration.Milliseconds()
		ms = &d
	}
	var err error
	for attempt := range 3 {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, err = a.DB.Exec(wctx, `INSERT INTO deploy_audit (tenant_id, workflow_id, run_id, target, step, phase, argv, cwd,
			exit_code, duration_ms, stdout_bytes, stderr_bytes, output_tail, truncated, refused_rule, error, requester)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULLIF($15, ''), NULLIF($16, ''), NULLIF($17, ''))`,
			row.TenantID, row.WorkflowID, row.RunID, row.Target, row.Step, row.Phase, argv, clip(row.Cwd, 1024),
			row.ExitCode, ms, row.StdoutBytes, row.StderrBytes, clip(row.Tail, 4096), row.Truncated, row.RefusedRule,
			clip(row.Error, 2048), clip(row.Requester, 256))
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	if a.Logger != nil {
		a.Logger.Error("deploy audit row not written", "error", err, "workflow_id", row.WorkflowID, "step", row.Step, "argv", row.Argv)
	}
	return fmt.Errorf("audit: %w", err)
}
