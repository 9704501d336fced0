package ingest_test

import (
	"errors"
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	wf "contextworker/workflows/ingest"
)

// TestReviewAfterTheIngestRunClosed: with review_timeout 0 an ingest run
// closes as soon as its document is quarantined; an operator then releases
// the SNO with an ingest-review run, which is recorded with the operator,
// and a second review of the released SNO is refused.
func TestReviewAfterTheIngestRunClosed(t *testing.T) {
	s := newStack(t, "chunk_size: 4\nsub_batch: 2\nwindow: 2\nreview_timeout: 0s\n")
	ctx := s.ctx()
	forged, err := os.ReadFile("testdata/samples/poisoned-forged.txt")
	if err != nil {
		t.Fatal(err)
	}
	in := wf.Input{TenantID: "late", Source: "forger", Text: string(forged)}
	rep := func() wf.Report {
		_, r := s.ingest(in)
		return r
	}()
	if rep.Status != wf.StatusQuarantined || rep.Decision != "" {
		t.Fatalf("ingest report %+v, want quarantined and undecided", rep)
	}

	review := func(r wf.ReviewInput) (client.WorkflowRun, wf.Report, error) {
		t.Helper()
		run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.ReviewWorkflowID(&r), TaskQueue: wf.TaskQueue}, wf.ReviewWorkflowName, r)
		if err != nil {
			t.Fatal(err)
		}
		var out wf.Report
		err = run.Get(ctx, &out)
		return run, out, err
	}
	if _, _, err := review(wf.ReviewInput{TenantID: "late", SNOID: rep.SNOID, Decision: wf.SignalRelease}); !hasErrorType(err, "InvalidInput") {
		t.Fatalf("review without an operator: %v, want InvalidInput", err)
	}
	run, out, err := review(wf.ReviewInput{TenantID: "late", SNOID: rep.SNOID, Decision: wf.SignalRelease, Operator: "ops@late", Note: "sources checked"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != wf.StatusAdmitted || out.Operator != "ops@late" {
		t.Fatalf("review report %+v", out)
	}
	var decision, operator, note, workflowID string
	var vectors int
	if err := s.db.QueryRow(ctx, `SELECT d.decision, d.operator, d.note, d.workflow_id,
			(SELECT count(*) FROM ingest_vectors v WHERE v.tenant_id = d.tenant_id AND v.sno_id = d.sno_id)
		FROM ingest_decisions d WHERE d.tenant_id = 'late' AND d.sno_id = $1`, rep.SNOID).Scan(&decision, &operator, &note, &workflowID, &vectors); err != nil {
		t.Fatal(err)
	}
	if decision != wf.SignalRelease || operator != "ops@late" || note != "sources checked" || workflowID != run.GetID() || vectors != 1 {
		t.Fatalf("recorded %s by %s (%q) in %s, %d vectors", decision, operator, note, workflowID, vectors)
	}
	if *updateHistory {
		s.saveHistory(run.GetID(), run.GetRunID(), "../../workflows/ingest/testdata/ingest_review_history.json")
	}

	if _, _, err := review(wf.ReviewInput{TenantID: "late", SNOID: rep.SNOID, Decision: wf.SignalDelete, Operator: "ops@late"}); !hasErrorType(err, "NotQuarantined") {
		t.Fatalf("second review of a released SNO: %v, want NotQuarantined", err)
	}
}

func hasErrorType(err error, kind string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == kind
}
