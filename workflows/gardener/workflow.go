// Package gardener holds the gardener workflow: the durable orchestration
// of one enrichment pass over a tenant's catalogue. It is deterministic
// only: no I/O, clocks, randomness, goroutines or map iteration; all I/O
// happens in the activities (contextworker/activities/gardener), which it
// calls by name.
//
// A pass is: Begin (take the watermark window, resolve the enrichers and
// their versions, record the run) → Enrich, repeatedly (batches read by
// keyset, checkpointed in the database with their results) → Finalize (the
// enrichers' set-based passes) → Finish (advance the watermark). History
// holds only counts and the cursor, and the workflow continues as new
// before it grows long, so a catalogue of any size fits.
package gardener

import (
	"errors"
	"fmt"
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

// ErrAlreadyRunning is the error type of a start refused because a
// gardener of the same tenant is running.
const ErrAlreadyRunning = "GardenerAlreadyRunning"

func searchAttributes(in Input) []temporal.SearchAttributeUpdate {
	u := []temporal.SearchAttributeUpdate{SearchTenant.ValueSet(in.TenantID), SearchModule.ValueSet("gardener")}
	if in.SupplierCode != "" {
		u = append(u, SearchSupplier.ValueSet(in.SupplierCode))
	}
	return u
}

// Workflow runs one gardener pass (more when products change meanwhile)
// and returns the last pass's report.
func Workflow(ctx workflow.Context, in Input) (*Report, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), "InvalidInput", err)
	}
	if in.State != nil && workflow.GetInfo(ctx).ContinuedExecutionRunID == "" {
		// Only this workflow's own continue-as-new may carry state: a
		// caller-made one could skip work or point at another tenant.
		return nil, temporal.NewNonRetryableApplicationError(
			"invalid input: state is internal to continue-as-new; leave it out of the input", "InvalidInput", nil)
	}
	canonical := WorkflowID(in.TenantID)
	if workflow.GetInfo(ctx).WorkflowExecution.ID != canonical {
		// Started under another id (a Schedule, a user): run as the child
		// with the canonical id, so Temporal refuses a second run.
		return delegate(ctx, in, canonical)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchAttributes(in)...); err != nil {
		return nil, err
	}
	r := &run{in: in, changed: workflow.GetSignalChannel(ctx, SignalProductsChanged)}
	if in.State != nil {
		r.st = *in.State
	}
	// Signals already delivered to a fresh run started it (signal-with-
	// start) or came before it read anything: this pass covers them. In a
	// continued run they arrived during the previous run's last steps.
	fresh := in.State == nil
	for r.receiveNotice() {
		r.st.Again = r.st.Again || !fresh
	}
	r.progress.Continuation = r.st.Continuation
	r.syncProgress()
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress, nil }); err != nil {
		return nil, err
	}
	report, err := r.execute(ctx)
	if err != nil {
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) {
			r.finishFailed(ctx, err)
		}
		return nil, err
	}
	r.drainSignals()
	if r.st.Again {
		// Products changed during the pass: one more, as a new run with
		// fresh history and a new watermark window.
		workflow.SetCurrentDetails(ctx, "products changed during the pass: starting another")
		return nil, workflow.NewContinueAsNewError(ctx, WorkflowName, Input{TenantID: in.TenantID, SupplierCode: in.SupplierCode})
	}
	return report, nil
}

func delegate(ctx workflow.Context, in Input, canonical string) (*Report, error) {
	return durable.Delegate[Report](ctx, durable.Canonical{
		WorkflowID:         canonical,
		WorkflowType:       WorkflowName,
		TaskQueue:          TaskQueue,
		Summary:            summary(in),
		SearchAttributes:   searchAttributes(in),
		AlreadyRunningType: ErrAlreadyRunning,
		AlreadyRunning: fmt.Sprintf("a gardener of tenant %s is already running (workflow %s); signal it with %q instead",
			in.TenantID, canonical, SignalProductsChanged),
	}, in)
}

type run struct {
	in       Input
	st       State
	progress Progress
	changed  workflow.ReceiveChannel
}

// receiveNotice takes one pending products_changed signal, if any, into
// the progress. A payload that does not decode as ProductsChanged is
// dropped by the SDK (logged, and counted in its corrupted-signals metric);
// the starter refuses such payloads before they are sent.
func (r *run) receiveNotice() bool {
	var n ProductsChanged
	if !r.changed.ReceiveAsync(&n) {
		return false
	}
	r.progress.Notices++
	r.progress.LastNotice = &n
	return true
}

func (r *run) drainSignals() {
	for r.receiveNotice() {
		r.st.Again = true
	}
	r.progress.Again = r.st.Again
}

func (r *run) setPhase(ctx workflow.Context, phase, details string) {
	r.progress.Phase = phase
	workflow.SetCurrentDetails(ctx, details)
}

func (r *run) syncProgress() {
	r.progress.Totals = r.st.Enriched.Totals
	if c := r.st.Enriched; c.CursorSupplier != "" || c.CursorSKU != "" {
		r.progress.Cursor = c.CursorSupplier + "/" + c.CursorSKU
	}
	if r.st.Finalized != nil {
		r.progress.Finalized = r.st.Finalized.Written
	}
	if r.st.Plan != nil {
		r.progress.RunID = r.st.Plan.RunID
	}
	r.progress.Again = r.st.Again
}

func activityCtx(ctx workflow.Context, summary string, startToClose, heartbeat time.Duration, attempts int32) workflow.Context {
	return durable.ActivityContext(ctx, TaskQueue, summary, startToClose, heartbeat, attempts)
}

func (r *run) execute(ctx workflow.Context) (*Report, error) {
	if r.st.Plan == nil {
		r.setPhase(ctx, "begin", "taking the watermark and resolving enrichers")
		var plan Plan
		actx := activityCtx(ctx, "take the watermark and record the run", time.Minute, 0, 10)
		if err := workflow.ExecuteActivity(actx, ActivityBegin, r.in).Get(ctx, &plan); err != nil {
			return nil, err
		}
		r.st.Plan = &plan
		r.syncProgress()
	}
	plan := *r.st.Plan

	actx := activityCtx(ctx, "enrich a run of batches", plan.EnrichTimeout, plan.HeartbeatTimeout, 0)
	for !r.st.Enriched.Done {
		if r.shouldContinueAsNew(ctx, plan) {
			r.st.Continuation++
			next := r.in
			st := r.st
			next.State = &st
			return nil, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		r.setPhase(ctx, "enriching", fmt.Sprintf("enriching: %d products in %d batches, %d fields written, %d removed",
			r.st.Enriched.Processed, r.st.Enriched.Batches, r.st.Enriched.Written, r.st.Enriched.Deleted))
		var res EnrichResult
		if err := workflow.ExecuteActivity(actx, ActivityEnrich, plan).Get(ctx, &res); err != nil {
			return nil, err
		}
		r.st.Enriched = res
		r.drainSignals()
		r.syncProgress()
	}

	if r.st.Finalized == nil {
		r.setPhase(ctx, "finalizing", "grouping duplicates and flagging outliers (set-based passes)")
		var fin FinalizeResult
		fctx := activityCtx(ctx, "run the enrichers' set-based passes", plan.EnrichTimeout, plan.HeartbeatTimeout, 0)
		if err := workflow.ExecuteActivity(fctx, ActivityFinalize, plan).Get(ctx, &fin); err != nil {
			return nil, err
		}
		r.st.Finalized = &fin
		r.drainSignals()
		r.syncProgress()
	}
	return r.finish(ctx, plan)
}

func (r *run) shouldContinueAsNew(ctx workflow.Context, plan Plan) bool {
	return durable.ShouldContinueAsNew(ctx, plan.MaxHistoryEvents)
}

func (r *run) finish(ctx workflow.Context, plan Plan) (*Report, error) {
	r.setPhase(ctx, "finishing", "advancing the watermark and recording the report")
	var report Report
	actx := activityCtx(ctx, "advance the watermark and record the report", time.Minute, 0, 0)
	if err := workflow.ExecuteActivity(actx, ActivityFinish, FinishRequest{Plan: plan, Status: StatusSucceeded}).Get(ctx, &report); err != nil {
		return nil, err
	}
	r.progress.Phase = report.Status
	skipped := ""
	if report.Skipped > 0 {
		skipped = fmt.Sprintf(" (%d changed ones skipped: no enricher reads what changed in them)", report.Skipped)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: %d products in %d batches%s; %d fields written, %d removed, %d by set-based passes; %d unmapped categories",
		report.Status, report.Processed, report.Batches, skipped, report.Written, report.Deleted, report.Finalized, len(report.UnmappedCategories)))
	return &report, nil
}

// finishFailed records a failed or canceled run, even when the workflow
// itself was canceled. The watermark stays where it was, so the next run
// redoes the window.
func (r *run) finishFailed(ctx workflow.Context, cause error) {
	if r.st.Plan == nil {
		return
	}
	durable.FinishFailed(ctx, TaskQueue, cause, func(actx workflow.Context, status, msg string) error {
		return workflow.ExecuteActivity(actx, ActivityFinish, FinishRequest{Plan: *r.st.Plan, Status: status, Error: msg}).Get(actx, nil)
	})
}
