// Package deploy holds the deploy workflow: the durable orchestration of
// one deployment of a repository onto a target. It is deterministic only:
// no I/O, clocks, randomness, goroutines or map iteration; all I/O happens
// in the activities (contextworker/activities/deploy), which it calls by
// name.
//
// A run: Checkout (resolve the ref, detect the tier) → Plan → Validate
// (the whole plan under the target's policy; optionally an approve signal)
// → Prepare (ship the release) → Exec, one activity per build and test
// command → Switch (current link) → Start → Health → Prune. Once the link
// was switched, a failure or a cancellation runs the rollback saga on a
// disconnected context. Each completed step is in history and each
// succeeded command is marked on the target, so a worker restart never
// runs a succeeded command again.
package deploy

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/durable"
	"contextworker/internal/searchattr"
)

// Search attributes the workflow sets (see internal/searchattr).
var (
	SearchTenant = searchattr.Tenant
	SearchModule = searchattr.Module
)

func searchAttributes(in Input) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{SearchTenant.ValueSet(in.TenantID), SearchModule.ValueSet(WorkflowName)}
}

func summary(in Input) string {
	return fmt.Sprintf("deploy %s@%s to %s (tenant %s)", in.ModuleName(), in.Ref, in.Target, in.TenantID)
}

// Workflow runs one deploy and returns its report; a failed deploy fails
// the workflow with the report as the error's details.
func Workflow(ctx workflow.Context, in Input) (*Report, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), ErrInvalidInput, err)
	}
	canonical := WorkflowID(in.TenantID, in.Target, in.ModuleName())
	if workflow.GetInfo(ctx).WorkflowExecution.ID != canonical {
		return durable.Delegate[Report](ctx, durable.Canonical{
			WorkflowID: canonical, WorkflowType: WorkflowName, TaskQueue: TaskQueue, Summary: summary(in),
			SearchAttributes:   searchAttributes(in),
			AlreadyRunningType: ErrAlreadyRunning,
			AlreadyRunning:     fmt.Sprintf("a deploy of %s to %s is already running (workflow %s)", in.ModuleName(), in.Target, canonical),
		}, in)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchAttributes(in)...); err != nil {
		return nil, err
	}
	r := &run{in: in, report: Report{WorkflowID: canonical, Steps: []StepOutcome{},
		AuditQuery: fmt.Sprintf("SELECT * FROM deploy_audit WHERE workflow_id = '%s' ORDER BY id", canonical)}}
	r.progress.Steps = []StepOutcome{}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress, nil }); err != nil {
		return nil, err
	}
	err := r.execute(ctx)
	if err == nil {
		r.report.Status = StatusSucceeded
		r.setPhase(ctx, StatusSucceeded, fmt.Sprintf("**succeeded**: release %s answers %s", r.report.Release, r.report.Endpoint))
		return &r.report, nil
	}
	return nil, r.fail(ctx, err)
}

type run struct {
	in       Input
	plan     *Plan
	report   Report
	progress Progress
	// What the saga has to undo.
	switched, started bool
	previous          string
}

func (r *run) setPhase(ctx workflow.Context, phase, details string) {
	r.progress.Phase = phase
	workflow.SetCurrentDetails(ctx, details)
}

func (r *run) record(o StepOutcome) {
	r.report.Steps = append(r.report.Steps, o)
	r.progress.Steps = r.report.Steps
}

// activity returns options for one step: the plan's heartbeat timeout
// once there is a plan (so a dead worker's step is retried that soon),
// a minute before.
func (r *run) activity(ctx workflow.Context, summary string, timeout time.Duration, attempts int32) workflow.Context {
	hb := time.Minute
	if r.plan != nil && r.plan.HeartbeatTimeout > 0 {
		hb = r.plan.HeartbeatTimeout
	}
	return durable.ActivityContext(ctx, TaskQueue, summary, timeout, hb, attempts)
}

func (r *run) execute(ctx workflow.Context) error {
	r.setPhase(ctx, "checkout", fmt.Sprintf("checking out %s at %s", r.in.Repository, r.in.Ref))
	var src Source
	if err := workflow.ExecuteActivity(r.activity(ctx, "check out "+r.in.Ref, 15*time.Minute, 5), ActivityCheckout, r.in).Get(ctx, &src); err != nil {
		return err
	}
	r.record(StepOutcome{Step: "checkout", Status: StatusSucceeded, Detail: fmt.Sprintf("%s at %s, tier %d", r.in.Ref, src.Commit, src.Tier)})

	r.setPhase(ctx, "plan", "planning")
	var plan Plan
	req := PlanRequest{Input: r.in, Source: src, StartedAt: workflow.Now(ctx)}
	if err := workflow.ExecuteActivity(r.activity(ctx, "plan the deploy", 15*time.Minute, 5), ActivityPlan, req).Get(ctx, &plan); err != nil {
		return err
	}
	r.plan, r.report.Plan, r.progress.Plan = &plan, &plan, &plan
	r.report.Release, r.report.Endpoint = plan.Release, plan.Endpoint
	if plan.Prompt != nil {
		r.report.PromptNote = plan.Prompt.Note
	}
	r.setPhase(ctx, "validate", "validating the plan under the target's policy\n\n"+describe(plan))
	if err := workflow.ExecuteActivity(r.activity(ctx, "validate the plan", 15*time.Minute, 5), ActivityValidate, plan).Get(ctx, nil); err != nil {
		return err
	}
	r.record(StepOutcome{Step: "validate", Status: StatusSucceeded, Detail: fmt.Sprintf("%d commands allowed", len(plan.Commands)+1)})
	if err := r.approval(ctx, plan); err != nil {
		return err
	}
	return r.deploy(ctx, plan)
}

// approval waits for approve or reject when the target asks for it (the
// Plan activity says so through ApprovalTimeout).
func (r *run) approval(ctx workflow.Context, plan Plan) error {
	if plan.ApprovalTimeout <= 0 {
		return nil
	}
	r.progress.AwaitingApproval = true
	r.setPhase(ctx, "awaiting approval", fmt.Sprintf("**waiting for an `%s` (or `%s`) signal** before anything runs on %s\n\n%s",
		SignalApprove, SignalReject, plan.Target, describe(plan)))
	approved, decided := false, false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalApprove), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		approved, decided = true, true
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalReject), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		decided = true
	})
	tctx, cancelTimer := workflow.WithCancel(ctx)
	timer := workflow.NewTimerWithOptions(tctx, plan.ApprovalTimeout, workflow.TimerOptions{Summary: "approval timeout"})
	sel.AddFuture(timer, func(workflow.Future) {})
	sel.Select(ctx)
	cancelTimer()
	r.progress.AwaitingApproval = false
	if err := ctx.Err(); err != nil {
		return temporal.NewCanceledError()
	}
	if !approved {
		why := "was rejected"
		if !decided {
			why = fmt.Sprintf("was not approved within %s", plan.ApprovalTimeout)
		}
		r.record(StepOutcome{Step: "approve", Status: StatusRejected, Detail: why})
		return temporal.NewNonRetryableApplicationError("the plan "+why+"; nothing ran on the target", ErrNotApproved, nil)
	}
	r.record(StepOutcome{Step: "approve", Status: StatusSucceeded})
	return nil
}

func (r *run) deploy(ctx workflow.Context, plan Plan) error {
	r.setPhase(ctx, "prepare", "shipping release "+plan.Release)
	var o StepOutcome
	if err := workflow.ExecuteActivity(r.activity(ctx, "ship release "+plan.Release, time.Hour, 5), ActivityPrepare, plan).Get(ctx, &o); err != nil {
		return err
	}
	r.record(o)
	for i, c := range plan.Commands {
		r.setPhase(ctx, c.Step, fmt.Sprintf("%s %d/%d: `%s`", c.Step, i+1, len(plan.Commands), strings.Join(c.Argv, " ")))
		var out StepOutcome
		// Transport failures retry; a command that ran and failed does not
		// (non-retryable from the activity). The activity heartbeats.
		actx := r.activity(ctx, fmt.Sprintf("%s: %s", c.Step, strings.Join(c.Argv, " ")), plan.CommandTimeout+2*time.Minute, 5)
		if err := workflow.ExecuteActivity(actx, ActivityExec, ExecRequest{Plan: plan, Index: i}).Get(ctx, &out); err != nil {
			r.record(StepOutcome{Step: c.Step, Argv: c.Argv, Status: StatusFailed, Detail: message(err)})
			return err
		}
		r.record(out)
	}
	r.setPhase(ctx, "release", "switching current to "+plan.Release)
	var sw SwitchResult
	if err := workflow.ExecuteActivity(r.activity(ctx, "switch current to "+plan.Release, 5*time.Minute, 5), ActivitySwitch, plan).Get(ctx, &sw); err != nil {
		return err
	}
	r.switched, r.previous, r.report.Previous = true, sw.Previous, sw.Previous
	r.record(StepOutcome{Step: "release", Status: StatusSucceeded, Detail: "current → " + plan.Release + previousNote(sw.Previous)})

	r.setPhase(ctx, "start", "starting "+plan.Release)
	r.started = true // a start that failed midway may have stopped the old process
	if err := workflow.ExecuteActivity(r.activity(ctx, "start "+plan.Release, 5*time.Minute, 5), ActivityStart, plan).Get(ctx, &o); err != nil {
		return err
	}
	r.record(o)

	r.setPhase(ctx, "health", "health-checking "+plan.Endpoint)
	probeTime := time.Duration(plan.Health.Retries)*(plan.Health.Interval+plan.Health.Timeout) + time.Minute
	if err := workflow.ExecuteActivity(r.activity(ctx, "health-check "+plan.Endpoint, probeTime, 3), ActivityHealth, plan).Get(ctx, &o); err != nil {
		r.record(StepOutcome{Step: "health", Status: StatusFailed, Detail: message(err)})
		return err
	}
	r.record(o)

	var removed []string
	req := RollbackRequest{Plan: plan, Previous: sw.Previous}
	if err := workflow.ExecuteActivity(r.activity(ctx, "prune old releases", 5*time.Minute, 5), ActivityPrune, req).Get(ctx, &removed); err != nil {
		// The deploy itself succeeded; a failed prune is reported, not fatal.
		r.record(StepOutcome{Step: "prune", Status: StatusFailed, Detail: message(err)})
		return nil
	}
	r.record(StepOutcome{Step: "prune", Status: StatusSucceeded, Detail: fmt.Sprintf("removed %d old releases", len(removed))})
	return nil
}
