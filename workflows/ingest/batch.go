package ingest

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"contextworker/internal/durable"
)

// BatchWorkflow ingests many documents: BatchBegin lists them once into
// chunks kept in PostgreSQL; the workflow then keeps up to plan.Window
// Chunk activities in flight (each processes its chunk's documents in
// sub-batches, heartbeating a checkpoint) and adds up their counts. It
// continues as new, after draining the chunks in flight, before history
// grows long. Release and delete signals (with an sno_id) are applied as
// they come while the batch runs.
func BatchWorkflow(ctx workflow.Context, in BatchInput) (*BatchReport, error) {
	if err := in.Validate(); err != nil {
		return nil, invalid(err)
	}
	if in.State != nil && workflow.GetInfo(ctx).ContinuedExecutionRunID == "" {
		// Only this workflow's own continue-as-new may carry state.
		return nil, invalid(fmt.Errorf("state: internal to continue-as-new; leave it out of the input"))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchAttributes(in.TenantID, in.Source)...); err != nil {
		return nil, err
	}
	b := &batch{in: in}
	if in.State != nil {
		b.st = *in.State
	}
	b.sync("listing")
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return b.progress, nil }); err != nil {
		return nil, err
	}
	if b.st.Plan == nil {
		workflow.SetCurrentDetails(ctx, "listing the documents into chunks")
		var plan BatchPlan
		actx := activityCtx(ctx, "list the documents into chunks", 10*time.Minute, 0, 10)
		if err := workflow.ExecuteActivity(actx, ActivityBatchBegin, in).Get(ctx, &plan); err != nil {
			return nil, err
		}
		b.st.Plan = &plan
	}
	b.sync("ingesting")
	return b.run(ctx)
}

type batch struct {
	in       BatchInput
	st       BatchState
	progress Progress
	// decisionsSeen numbers decisions within this run, for request ids.
	decisionsSeen int
}

func (b *batch) sync(phase string) {
	p := &b.progress
	p.Phase = phase
	p.Done, p.Admitted, p.Quarantined, p.Duplicates = b.st.Totals.Documents, b.st.Totals.Admitted, b.st.Totals.Quarantined, b.st.Totals.Duplicates
	p.ChunksDone, p.Decisions, p.Continuation = b.st.ChunksDone, b.st.Decisions, b.st.Continuation
	if b.st.Plan != nil {
		p.Total, p.Chunks = b.st.Plan.Documents, b.st.Plan.Chunks
	}
}

func (b *batch) run(ctx workflow.Context) (*BatchReport, error) {
	plan := *b.st.Plan
	cctx := activityCtx(ctx, "ingest a chunk of documents", plan.ChunkTimeout, plan.HeartbeatTimeout, 0)
	sel := workflow.NewSelector(ctx)
	window := max(1, plan.Window)
	inFlight := 0
	var failed error
	b.addSignals(ctx, sel)
	for {
		draining := durable.ShouldContinueAsNew(ctx, plan.MaxHistoryEvents)
		for !draining && failed == nil && inFlight < window && b.st.Next < plan.Chunks {
			chunk := b.st.Next
			b.st.Next++
			inFlight++
			f := workflow.ExecuteActivity(cctx, ActivityChunk, ChunkRequest{Plan: plan, Chunk: chunk})
			sel.AddFuture(f, func(f workflow.Future) {
				inFlight--
				var c Counts
				if err := f.Get(ctx, &c); err != nil {
					if failed == nil {
						failed = fmt.Errorf("chunk %d: %w", chunk, err)
					}
					return
				}
				b.st.Totals.Add(c)
				b.st.ChunksDone++
			})
		}
		if inFlight == 0 {
			switch {
			case failed != nil:
				return nil, failed
			case b.st.Next >= plan.Chunks:
				return b.finish(ctx, plan), nil
			case draining:
				b.drainSignals(ctx)
				b.st.Continuation++
				next := b.in
				st := b.st
				next.State = &st
				return nil, workflow.NewContinueAsNewError(ctx, BatchWorkflowName, next)
			}
		}
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("ingesting: %d of %d documents (%d admitted, %d quarantined), %d of %d chunks, %d in flight",
			b.st.Totals.Documents, plan.Documents, b.st.Totals.Admitted, b.st.Totals.Quarantined, b.st.ChunksDone, plan.Chunks, inFlight))
		sel.Select(ctx)
		b.sync("ingesting")
	}
}

// addSignals applies release and delete signals as they come. Each
// decision runs its activity to completion before the selector is served
// again, so decisions are recorded in the order they arrived.
func (b *batch) addSignals(ctx workflow.Context, sel workflow.Selector) {
	for _, name := range []string{SignalRelease, SignalDelete} {
		sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
			var d Decision
			c.Receive(ctx, &d)
			b.decide(ctx, name, d)
		})
	}
}

// drainSignals applies the decisions that arrived but were not served,
// before the run continues as new (which would drop them).
func (b *batch) drainSignals(ctx workflow.Context) {
	for _, name := range []string{SignalRelease, SignalDelete} {
		ch := workflow.GetSignalChannel(ctx, name)
		var d Decision
		for ch.ReceiveAsync(&d) {
			b.decide(ctx, name, d)
			d = Decision{}
		}
	}
}

func (b *batch) decide(ctx workflow.Context, name string, d Decision) {
	b.decisionsSeen++
	req := DecideRequest{TenantID: b.in.TenantID, Decision: name, Detail: d,
		RequestID: fmt.Sprintf("%s-%d-%d", name, b.st.Continuation, b.decisionsSeen)}
	var out Outcome
	dctx := activityCtx(ctx, "record and apply the operator's decision", time.Minute, 0, 3)
	if err := workflow.ExecuteActivity(dctx, ActivityDecide, req).Get(ctx, &out); err != nil {
		// A decision on an unknown SNO must not fail the batch.
		workflow.GetLogger(ctx).Warn("decision refused", "decision", name, "sno_id", d.SNOID, "error", err)
		return
	}
	b.st.Decisions++
	b.sync(b.progress.Phase)
}

func (b *batch) finish(ctx workflow.Context, plan BatchPlan) *BatchReport {
	b.sync("done")
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**done**: %d documents, %d admitted, %d quarantined, %d duplicates, in %d chunks; %d decisions",
		b.st.Totals.Documents, b.st.Totals.Admitted, b.st.Totals.Quarantined, b.st.Totals.Duplicates, plan.Chunks, b.st.Decisions))
	return &BatchReport{RunID: plan.RunID, WorkflowID: plan.WorkflowID, Counts: b.st.Totals, Chunks: plan.Chunks, Decisions: b.st.Decisions}
}
