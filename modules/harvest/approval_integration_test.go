package harvest_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	wf "contextworker/workflows/harvest"
)

// awaitPhase polls the progress query until the run reaches phase.
func (s *stack) awaitPhase(ctx context.Context, run client.WorkflowRun, phase string) wf.Progress {
	s.t.Helper()
	for {
		v, err := s.tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), wf.QueryProgress)
		if err == nil {
			var p wf.Progress
			if v.Get(&p) == nil && p.Phase == phase {
				return p
			}
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("run never reached phase %s", phase)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestRejectedRunLeavesTheCatalogue: a run with changed rows and more than
// the allowed share missing asks for approval before it merges anything,
// so after reject the catalogue is exactly as it was (it used to keep the
// changed rows merged before the question).
func TestRejectedRunLeavesTheCatalogue(t *testing.T) {
	s := newStack(t, "max_deactivate_share: 0.2\nchain_gardener: false\n")
	in := wf.Input{TenantID: "acme", SupplierCode: "r1", Format: "csv", Force: true}
	in.FeedURL = s.serve("r10.csv", feedOf(seq(1, 10)...))
	if rep, err := s.harvest(in); err != nil || rep.Inserted != 10 {
		t.Fatalf("seed: %+v %v", rep, err)
	}
	before := s.catalogue("acme", "r1")

	// SKU 1..5 change price, 6..10 are missing: 50% > 20%.
	var b strings.Builder
	b.WriteString(header)
	for i := 1; i <= 5; i++ {
		b.WriteString(goodRow(i, "4.00"))
	}
	in.FeedURL = s.serve("r5.csv", b.String())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "r1"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	p := s.awaitPhase(ctx, run, "awaiting_approval")
	if p.PartsDone != 0 || p.Updated != 0 {
		t.Fatalf("progress %+v: merged before approval", p)
	}
	if got := s.catalogue("acme", "r1"); !maps.Equal(got, before) {
		t.Fatal("the catalogue changed while the run awaited approval")
	}
	if err := s.tc.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), wf.SignalReject, nil); err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "DeactivationNotApproved" || !strings.Contains(appErr.Error(), "nothing was merged or deactivated") {
		t.Fatalf("rejected run error = %v, want DeactivationNotApproved saying nothing was merged", err)
	}
	if got := s.catalogue("acme", "r1"); !maps.Equal(got, before) {
		t.Fatalf("a rejected run changed the catalogue:\nbefore %v\nafter  %v", before, got)
	}
	if *updateHistory {
		s.saveHistory(run.GetID(), run.GetRunID(), "../../workflows/harvest/testdata/harvest_history_approve_before_merge.json")
	}
}

// TestUndeclaredLengthHasAStricterGuard: a CSV feed served without a
// Content-Length may have been cut at a row boundary unnoticed, so its
// run may deactivate at most max_deactivate_share_undeclared (1%) without
// approval, and its report says the length was undeclared.
func TestUndeclaredLengthHasAStricterGuard(t *testing.T) {
	s := newStack(t, "max_deactivate_share: 0.2\nchain_gardener: false\n")
	feeds := map[string]string{}
	srv := faultyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		body := feeds[r.URL.Path]
		half := len(body) / 2
		w.Write([]byte(body[:half]))
		w.(http.Flusher).Flush() // chunked from here: no Content-Length
		w.Write([]byte(body[half:]))
	}))
	feeds["/u10.csv"] = feedOf(seq(1, 10)...)
	feeds["/u9.csv"] = feedOf(seq(1, 9)...) // as if cut after row 9: 10% missing
	in := wf.Input{TenantID: "acme", SupplierCode: "u1", Format: "csv", Force: true, FeedURL: srv.URL + "/u10.csv"}
	rep, err := s.harvest(in)
	if err != nil || rep.Inserted != 10 || !rep.LengthUndeclared {
		t.Fatalf("seed: %+v %v; want 10 inserted and length_undeclared", rep, err)
	}

	in.FeedURL = srv.URL + "/u9.csv"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "u1"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	p := s.awaitPhase(ctx, run, "awaiting_approval")
	if !strings.Contains(p.Note, "1.0% allowed") || !strings.Contains(p.Note, "declared no length") {
		t.Fatalf("note %q should give the 1%% limit and say why", p.Note)
	}
	if err := s.tc.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), wf.SignalApprove, nil); err != nil {
		t.Fatal(err)
	}
	var got wf.Report
	if err := run.Get(ctx, &got); err != nil || got.Deactivated != 1 || !got.LengthUndeclared {
		t.Fatalf("after approve: %+v %v; want 1 deactivated and length_undeclared", got, err)
	}
}
