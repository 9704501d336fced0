package deploy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/durable"
)

func previousNote(prev string) string {
	if prev == "" {
		return " (first release)"
	}
	return " (was " + prev + ")"
}

// message is an error's own message, without the SDK's wrapping.
func message(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// fail runs the rollback saga when the target was touched, on a
// disconnected context so a cancelled deploy is compensated too, and
// returns the failure with the report as its details.
func (r *run) fail(ctx workflow.Context, cause error) error {
	canceled, msg := durable.Outcome(ctx, cause)
	r.report.Status, r.report.Error = StatusFailed, msg
	if canceled {
		r.report.Status = StatusCanceled
	}
	if r.plan != nil && (r.switched || r.started) && (r.plan.RollbackEnabled || canceled) {
		r.setPhase(ctx, "rollback", "rolling back: "+msg)
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		req := RollbackRequest{Plan: *r.plan, Previous: r.previous, Switched: r.switched, Started: r.started, Reason: msg}
		var rb RollbackResult
		err := workflow.ExecuteActivity(r.activity(dctx, "roll back to "+orNone(r.previous), 10*time.Minute, 10), ActivityRollback, req).Get(dctx, &rb)
		if err != nil {
			rb.Detail = "rollback failed: " + message(err)
		} else if !canceled {
			r.report.Status = StatusRolledBack
		}
		r.report.Rollback = &rb
		status := StatusSucceeded
		if err != nil {
			status = StatusFailed
		}
		r.record(StepOutcome{Step: "rollback", Status: status, Detail: rb.Detail})
	}
	r.setPhase(ctx, r.report.Status, fmt.Sprintf("**%s**: %s", r.report.Status, msg))
	if canceled {
		return temporal.NewCanceledError(r.report)
	}
	typ := ErrCommandFailed
	var app *temporal.ApplicationError
	if errors.As(cause, &app) && app.Type() != "" {
		typ = app.Type()
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("deploy %s: %s", r.report.Status, msg), typ, cause, r.report)
}

func orNone(s string) string {
	if s == "" {
		return "no previous release"
	}
	return s
}

// describe renders the plan for the Web UI's current details.
func describe(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**plan** (tier %d", p.Source.Tier)
	if p.Source.Stack != "" {
		fmt.Fprintf(&b, ", stack %s", p.Source.Stack)
	}
	fmt.Fprintf(&b, ") for %s %s at %s on %s (%s)\n", p.Module, p.Version, p.Source.Commit, p.Target, p.TargetKind)
	for _, c := range p.Commands {
		fmt.Fprintf(&b, "- %s: `%s`\n", c.Step, strings.Join(c.Argv, " "))
	}
	fmt.Fprintf(&b, "- start: `%s` → %s\n", strings.Join(p.Start.Argv, " "), p.Endpoint)
	if p.Prompt != nil {
		fmt.Fprintf(&b, "\ntask prompt: %q (%s)\n", p.Prompt.Text, p.Prompt.Note)
	}
	return b.String()
}
