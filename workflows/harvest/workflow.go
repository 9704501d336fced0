// Package harvest holds the harvest workflow: the durable orchestration of
// one supplier-feed import. It is deterministic only: no I/O, clocks,
// randomness, goroutines or map iteration; all I/O happens in the
// activities (contextworker/activities/harvest), which it calls by name.
//
// A run is: Begin (resolve config, record the run) → Stage (stream the feed
// into a per-run staging table, checkpointed) → Merge (one activity per
// partition, in parallel, idempotent upserts that skip unchanged rows) →
// Deactivate (products missing from a complete run, guarded by a share
// limit and an approve signal) → Finish. History carries only references
// (run id, counts), never rows.
package harvest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/durable"
	"contextworker/internal/searchattr"
)

// Search attributes the workflow sets (see internal/searchattr).
var (
	SearchTenant   = searchattr.Tenant
	SearchSupplier = searchattr.Supplier
	SearchModule   = searchattr.Module
)

// ErrAlreadyRunning is the error type of a start refused because a harvest
// of the same supplier is running.
const ErrAlreadyRunning = "HarvestAlreadyRunning"

// Workflow runs one harvest and returns its report.
func Workflow(ctx workflow.Context, in Input) (*Report, error) {
	// A feed URL with credentials is refused since this version: a run
	// begun before went on with its URL, and replays so.
	refuseCredentials := workflow.GetVersion(ctx, "refuse-credentialed-feed-url", workflow.DefaultVersion, 1) >= 1
	if err := in.validate(refuseCredentials); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), "InvalidInput", err)
	}
	info := workflow.GetInfo(ctx)
	if err := checkState(in, info.ContinuedExecutionRunID != ""); err != nil {
		return nil, err
	}
	canonical := WorkflowID(in.TenantID, in.SupplierCode)
	if info.WorkflowExecution.ID != canonical {
		// Started under another id (a Schedule appends a timestamp, a user
		// may pick any id): run the harvest as the child with the canonical
		// id, so Temporal itself refuses a second concurrent run.
		return delegate(ctx, in, canonical)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		SearchTenant.ValueSet(in.TenantID), SearchSupplier.ValueSet(in.SupplierCode), SearchModule.ValueSet("harvest"),
	); err != nil {
		return nil, err
	}
	r := &run{in: in, st: State{}}
	if in.State != nil {
		r.st = *in.State
	}
	r.progress.Continuation = r.st.Continuation
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress, nil }); err != nil {
		return nil, err
	}
	// Live staging counts signalled by the Stage activity (see
	// activities/harvest/progress.go) show in the progress query until
	// staging's own result replaces them. Receiving a signal issues no
	// command, so histories from before this replay unchanged.
	workflow.Go(ctx, func(gctx workflow.Context) {
		ch := workflow.GetSignalChannel(gctx, SignalStageProgress)
		for {
			var live StageResult
			ch.Receive(gctx, &live)
			if r.st.Staged == nil {
				r.progress.Stage = live
			}
		}
	})
	report, err := r.execute(ctx)
	if err != nil {
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			return nil, err
		}
		r.finishFailed(ctx, err)
		return nil, err
	}
	return report, nil
}

// checkState refuses a state that did not come from this workflow's own
// continue-as-new: a caller-made state could point a run at another
// tenant's data or skip staging.
func checkState(in Input, continued bool) error {
	if in.State == nil {
		return nil
	}
	msg := ""
	switch {
	case !continued:
		msg = "state is internal to continue-as-new; leave it out of the input"
	case in.State.Plan != nil && (in.State.Plan.TenantID != in.TenantID || in.State.Plan.SupplierCode != in.SupplierCode):
		msg = "state belongs to another tenant or supplier"
	default:
		return nil
	}
	return temporal.NewNonRetryableApplicationError("invalid input: "+msg, "InvalidInput", nil)
}

func delegate(ctx workflow.Context, in Input, canonical string) (*Report, error) {
	return durable.Delegate[Report](ctx, durable.Canonical{
		WorkflowID:   canonical,
		WorkflowType: WorkflowName,
		TaskQueue:    TaskQueue,
		Summary:      summary(in),
		SearchAttributes: []temporal.SearchAttributeUpdate{
			SearchTenant.ValueSet(in.TenantID), SearchSupplier.ValueSet(in.SupplierCode), SearchModule.ValueSet("harvest")},
		AlreadyRunningType: ErrAlreadyRunning,
		AlreadyRunning: fmt.Sprintf("a harvest of %s/%s is already running (workflow %s); one harvest per supplier at a time",
			in.TenantID, in.SupplierCode, canonical),
	}, in)
}

type run struct {
	in       Input
	st       State
	progress Progress
}

func (r *run) setPhase(ctx workflow.Context, phase, details string) {
	r.progress.Phase = phase
	workflow.SetCurrentDetails(ctx, details)
}

func activityCtx(ctx workflow.Context, summary string, startToClose, heartbeat time.Duration, attempts int32) workflow.Context {
	return durable.ActivityContext(ctx, TaskQueue, summary, startToClose, heartbeat, attempts)
}

func (r *run) execute(ctx workflow.Context) (*Report, error) {
	in := r.in
	if r.st.Plan == nil {
		r.setPhase(ctx, "begin", "resolving supplier configuration")
		var plan Plan
		actx := activityCtx(ctx, "resolve config and record the run", time.Minute, 0, 10)
		if err := workflow.ExecuteActivity(actx, ActivityBegin, in).Get(ctx, &plan); err != nil {
			return nil, err
		}
		r.st.Plan = &plan
	}
	plan := *r.st.Plan
	r.progress.RunID = plan.RunID
	r.progress.PartsTotal = plan.Partitions

	if r.st.Staged == nil {
		r.setPhase(ctx, "staging", fmt.Sprintf("streaming **%s** feed %s into staging (live counts: pending activity heartbeat)", plan.Format, RedactURL(plan.FeedURL)))
		var staged StageResult
		actx := activityCtx(ctx, "fetch, parse and stage "+RedactURL(plan.FeedURL), plan.StageTimeout, plan.HeartbeatTimeout, 0)
		if err := workflow.ExecuteActivity(actx, ActivityStage, plan).Get(ctx, &staged); err != nil {
			return nil, err
		}
		r.st.Staged = &staged
	}
	r.progress.Stage = *r.st.Staged
	if r.st.Staged.Unchanged {
		return r.finish(ctx, StatusUnchanged, "")
	}

	// Since "approve-before-merge" a run that would deactivate more than
	// its share asks for approval before it merges anything, so a rejected
	// run leaves the catalogue as it was. (A first load deactivates
	// nothing; a continued run has asked already.)
	dctx := activityCtx(ctx, "deactivate products missing from the feed", 30*time.Minute, plan.HeartbeatTimeout, 0)
	if !r.st.Staged.Loaded && !r.st.Checked &&
		workflow.GetVersion(ctx, "approve-before-merge", workflow.DefaultVersion, 1) >= 1 {
		var check DeactivateResult
		cctx := workflow.WithActivityOptions(dctx, withSummary(dctx, "check the deactivation guard before merging"))
		if err := workflow.ExecuteActivity(cctx, ActivityDeactivate, DeactivateRequest{Plan: plan, CheckOnly: true}).Get(ctx, &check); err != nil {
			return nil, err
		}
		if check.NeedsApproval {
			approved, err := r.awaitApproval(ctx, plan, check)
			if err != nil {
				return nil, err
			}
			if !approved {
				return nil, notApproved(plan, check, "nothing was merged or deactivated")
			}
			r.st.Approved = true
		}
		r.st.Checked = true
	}

	// Workers from before "first-load-skips-merge" merged empty partitions
	// after a first load, and those from before "unchanged-skips-merge"
	// after a re-harvest that staged nothing.
	merge := !r.st.Staged.Loaded || workflow.GetVersion(ctx, "first-load-skips-merge", workflow.DefaultVersion, 1) == workflow.DefaultVersion
	if merge && r.st.Staged.NothingStaged && workflow.GetVersion(ctx, "unchanged-skips-merge", workflow.DefaultVersion, 1) >= 1 {
		merge = false
	}
	if merge {
		if err := r.merge(ctx, plan); err != nil {
			return nil, err
		}
	}

	r.setPhase(ctx, "deactivating", "deactivating products missing from the feed")
	var deact DeactivateResult
	if err := workflow.ExecuteActivity(dctx, ActivityDeactivate, DeactivateRequest{Plan: plan, Approved: r.st.Approved}).Get(ctx, &deact); err != nil {
		return nil, err
	}
	if deact.NeedsApproval {
		approved, err := r.awaitApproval(ctx, plan, deact)
		if err != nil {
			return nil, err
		}
		if !approved {
			return nil, notApproved(plan, deact, "nothing was deactivated")
		}
		if err := workflow.ExecuteActivity(dctx, ActivityDeactivate, DeactivateRequest{Plan: plan, Approved: true}).Get(ctx, &deact); err != nil {
			return nil, err
		}
	}
	r.progress.Deactivated = deact.Deactivated
	report, err := r.finish(ctx, StatusSucceeded, "")
	if err != nil {
		return nil, err
	}
	r.notifyGardener(ctx, plan, report)
	return report, nil
}

// notifyGardener asks the tenant's gardener to enrich what this run
// changed. The harvest never waits for the gardener and never fails
// because of it: a failed notification is logged, and the gardener's
// watermark catches the products up on its next run anyway.
func (r *run) notifyGardener(ctx workflow.Context, plan Plan, report *Report) {
	if workflow.GetVersion(ctx, "chain-gardener", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	if !plan.ChainGardener || report.Inserted+report.Updated+report.Deactivated == 0 {
		return
	}
	actx := activityCtx(ctx, "notify the gardener of changed products", time.Minute, 0, 5)
	if err := workflow.ExecuteActivity(actx, ActivityNotifyGardener, plan).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not notify the gardener", "error", err)
	}
}

// merge upserts every partition not yet merged, plan.Parallelism at a time,
// and continues as new between waves when history grows long.
func (r *run) merge(ctx workflow.Context, plan Plan) error {
	var todo []int
	for p := range plan.Partitions {
		if !slices.Contains(r.st.PartsDone, p) {
			todo = append(todo, p)
		}
	}
	r.syncMergeProgress()
	actx := activityCtx(ctx, "merge partition into products", 30*time.Minute, plan.HeartbeatTimeout, 0)
	for len(todo) > 0 {
		if r.shouldContinueAsNew(ctx, plan) {
			r.st.Continuation++
			next := r.in
			st := r.st
			next.State = &st
			return workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		wave := todo[:min(plan.Parallelism, len(todo))]
		todo = todo[len(wave):]
		r.setPhase(ctx, "merging", fmt.Sprintf("merging partitions: %d of %d done", len(r.st.PartsDone), plan.Partitions))
		futures := make([]workflow.Future, len(wave))
		for i, p := range wave {
			pctx := workflow.WithActivityOptions(actx, withSummary(actx, fmt.Sprintf("merge partition %d/%d", p+1, plan.Partitions)))
			futures[i] = workflow.ExecuteActivity(pctx, ActivityMerge, plan, p)
		}
		for _, f := range futures {
			var res MergeResult
			if err := f.Get(ctx, &res); err != nil {
				return err
			}
			r.st.PartsDone = append(r.st.PartsDone, res.Part)
			r.st.Merged.Inserted += res.Inserted
			r.st.Merged.Updated += res.Updated
			r.st.Merged.Unchanged += res.Unchanged
			r.syncMergeProgress()
		}
	}
	return nil
}

func withSummary(ctx workflow.Context, s string) workflow.ActivityOptions {
	o := workflow.GetActivityOptions(ctx)
	o.Summary = s
	return o
}

func (r *run) syncMergeProgress() {
	r.progress.PartsDone = len(r.st.PartsDone)
	r.progress.Inserted = r.st.Merged.Inserted
	r.progress.Updated = r.st.Merged.Updated
	r.progress.Unchanged = r.st.Merged.Unchanged
}

func (r *run) shouldContinueAsNew(ctx workflow.Context, plan Plan) bool {
	return durable.ShouldContinueAsNew(ctx, plan.MaxHistoryEvents)
}

// limitOf is the share that applied to d.
func limitOf(plan Plan, d DeactivateResult) float64 {
	if d.Limit > 0 || d.LengthUndeclared {
		return d.Limit
	}
	return plan.MaxDeactivateShare
}

// notApproved is the failure of a run that needed approval and did not
// get it.
func notApproved(plan Plan, d DeactivateResult, outcome string) error {
	why := ""
	if d.LengthUndeclared {
		why = " for a feed of undeclared length"
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("run would deactivate %d of %d active products (%.1f%% > %.1f%% allowed%s) and was not approved; %s",
			d.Missing, d.ActiveBefore, 100*d.Share, 100*limitOf(plan, d), why, outcome), "DeactivationNotApproved", nil)
}

// awaitApproval waits for an approve or reject signal, or the timeout.
func (r *run) awaitApproval(ctx workflow.Context, plan Plan, d DeactivateResult) (bool, error) {
	why := ""
	if d.LengthUndeclared {
		why = "; the feed declared no length, so it may have been cut short"
	}
	r.progress.Note = fmt.Sprintf("would deactivate %d of %d active products (%.1f%% > %.1f%% allowed%s); send signal %q to go on or %q to stop",
		d.Missing, d.ActiveBefore, 100*d.Share, 100*limitOf(plan, d), why, SignalApprove, SignalReject)
	r.setPhase(ctx, "awaiting_approval", r.progress.Note)
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
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimerWithOptions(tctx, plan.ApprovalTimeout, workflow.TimerOptions{Summary: "approval timeout"})
	sel.AddFuture(timer, func(workflow.Future) {})
	sel.Select(ctx)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.progress.Note = ""
	return approved && decided, nil
}

func (r *run) finish(ctx workflow.Context, status, errMsg string) (*Report, error) {
	r.setPhase(ctx, "finishing", "recording the run report")
	var report Report
	actx := activityCtx(ctx, "record the run report", time.Minute, 0, 0)
	if err := workflow.ExecuteActivity(actx, ActivityFinish, FinishRequest{Plan: *r.st.Plan, Status: status, Error: errMsg}).Get(ctx, &report); err != nil {
		return nil, err
	}
	r.progress.Phase = status
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: %d read, %d valid, %d rejected; %d inserted, %d updated, %d unchanged, %d deactivated",
		status, report.RowsRead, report.Valid, report.Rejected, report.Inserted, report.Updated, report.Unchanged, report.Deactivated))
	return &report, nil
}

// finishFailed records a failed or canceled run, even when the workflow
// itself was canceled, and drops staging.
func (r *run) finishFailed(ctx workflow.Context, cause error) {
	if r.st.Plan == nil {
		return // Begin never recorded the run
	}
	durable.FinishFailed(ctx, TaskQueue, cause, func(actx workflow.Context, status, msg string) error {
		return workflow.ExecuteActivity(actx, ActivityFinish, FinishRequest{Plan: *r.st.Plan, Status: status, Error: msg}).Get(actx, nil)
	})
}
