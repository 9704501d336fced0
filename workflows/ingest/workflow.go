// Package ingest holds the ingest module's workflows: ingest (one
// document into a scored SNO, admitted or quarantined, with an operator's
// review of a quarantined one) and ingest-batch (a directory, URL list or
// JSONL file in chunks). Deterministic only: no I/O, clocks, randomness,
// goroutines or map iteration; the activities
// (contextworker/activities/ingest) do all I/O and are called by name.
// History carries references, hashes, ids and counts, never a document's
// text (the ingest input's own text aside, see Input).
package ingest

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/durable"
	"contextworker/internal/searchattr"
)

// ModuleName is the value of the Module search attribute.
const ModuleName = "ingest"

func searchAttributes(tenant, source string) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{
		searchattr.Tenant.ValueSet(tenant), searchattr.Module.ValueSet(ModuleName), searchattr.Source.ValueSet(source),
	}
}

func activityCtx(ctx workflow.Context, summary string, startToClose, heartbeat time.Duration, attempts int32) workflow.Context {
	return durable.ActivityContext(ctx, TaskQueue, summary, startToClose, heartbeat, attempts)
}

func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), "InvalidInput", err)
}

// Workflow ingests one document: the Document activity stores it, builds
// and scores its SNO and admits or quarantines it. A quarantined SNO waits
// up to its review timeout for a release or delete signal; without one it
// stays quarantined, and an operator decides later with an ingest-review
// run (ReviewWorkflow).
func Workflow(ctx workflow.Context, in Input) (*Report, error) {
	if err := in.Validate(); err != nil {
		return nil, invalid(err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchAttributes(in.TenantID, in.Source)...); err != nil {
		return nil, err
	}
	progress := Progress{Phase: "scoring", Total: 1}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return progress, nil }); err != nil {
		return nil, err
	}
	ref := DocRef{TenantID: in.TenantID, Source: in.Source, URL: in.URL, Metadata: in.Metadata}
	what := "the document from " + in.Source
	if in.URL == "" {
		ref.ContentSHA256 = in.ContentSHA256()
	} else {
		what = "the document at " + in.URL
	}
	workflow.SetCurrentDetails(ctx, "storing, extracting and scoring "+what)
	var out Outcome
	actx := activityCtx(ctx, "store, extract, score and admit the document", 5*time.Minute, 0, 10)
	if err := workflow.ExecuteActivity(actx, ActivityDocument, ref).Get(ctx, &out); err != nil {
		return nil, err
	}
	report := &Report{Outcome: out}
	progress.Done = 1
	count(&progress, out.Status, 1)
	progress.Phase = out.Status
	workflow.SetCurrentDetails(ctx, details(out))
	if out.Status != StatusQuarantined || out.ReviewTimeout <= 0 {
		return report, nil
	}
	progress.Phase = "awaiting review"
	workflow.SetCurrentDetails(ctx, details(out)+fmt.Sprintf("; waiting up to %s for a %q or %q signal", out.ReviewTimeout, SignalRelease, SignalDelete))
	name, d, ok := awaitDecision(ctx, out.ReviewTimeout)
	if !ok {
		progress.Phase = StatusQuarantined
		workflow.SetCurrentDetails(ctx, details(out)+"; no review within "+out.ReviewTimeout.String())
		return report, nil
	}
	d.SNOID = out.SNOID
	var after Outcome
	dctx := activityCtx(ctx, "record and apply the operator's decision", time.Minute, 0, 0)
	req := DecideRequest{TenantID: in.TenantID, Decision: name, Detail: d, RequestID: name + "-1"}
	if err := workflow.ExecuteActivity(dctx, ActivityDecide, req).Get(ctx, &after); err != nil {
		return nil, err
	}
	report.Outcome, report.Decision, report.Operator = after, name, d.Operator
	report.ReviewTimeout = out.ReviewTimeout
	count(&progress, out.Status, -1)
	count(&progress, after.Status, 1)
	progress.Phase, progress.Decisions = after.Status, 1
	workflow.SetCurrentDetails(ctx, details(after)+fmt.Sprintf("; %s by %s", name, d.Operator))
	return report, nil
}

// awaitDecision waits for the first release or delete signal, up to
// timeout.
func awaitDecision(ctx workflow.Context, timeout time.Duration) (string, Decision, bool) {
	var name string
	var d Decision
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	for _, sig := range []string{SignalRelease, SignalDelete} {
		sel.AddReceive(workflow.GetSignalChannel(ctx, sig), func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &d)
			name = sig
		})
	}
	timedOut := false
	sel.AddFuture(workflow.NewTimer(tctx, timeout), func(workflow.Future) { timedOut = true })
	sel.Select(ctx)
	return name, d, !timedOut
}

func count(p *Progress, status string, n int) {
	switch status {
	case StatusAdmitted:
		p.Admitted += n
	case StatusQuarantined:
		p.Quarantined += n
	case StatusDuplicate:
		p.Duplicates += n
	}
}

func details(o Outcome) string {
	s := fmt.Sprintf("SNO **%s** %s: trust %.3f (grounding %.3f, logic %.3f, novelty %.3f)",
		o.SNOID, o.Status, o.Scores.Trust, o.Scores.Grounding, o.Scores.Logic, o.Scores.Novelty)
	if len(o.Reasons) > 0 {
		s += "; reasons: " + strings.Join(o.Reasons, ", ")
	}
	return s
}
