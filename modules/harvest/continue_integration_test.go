package harvest_test

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	wf "contextworker/workflows/harvest"
)

// TestContinueAsNewOnRealServer: with many partitions and a low event
// limit the run continues as new between merge waves, carries its state
// (no second Begin or Stage), and finishes with every product merged once.
func TestContinueAsNewOnRealServer(t *testing.T) {
	s := newStack(t, "partitions: 256\nparallelism: 4\nmax_history_events: 200\nchain_gardener: false\n")
	// A first load goes straight into products (no merges): load one
	// product first, so the run under test merges the other 199.
	if _, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "can", Format: "csv", FeedURL: s.serve("seed.csv", feedOf(seq(1, 1)...))}); err != nil {
		t.Fatal(err)
	}
	in := wf.Input{TenantID: "acme", SupplierCode: "can", Format: "csv", FeedURL: s.serve("can.csv", feedOf(seq(1, 200)...))}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "can"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("harvest: %v", err)
	}
	if rep.Status != wf.StatusSucceeded || rep.Inserted != 199 || rep.Unchanged != 1 || rep.StageAttempt != 1 {
		t.Fatalf("report %+v", rep)
	}
	// The first run (its id names the harvest run) ended by continuing as
	// new; run.GetRunID() follows the chain to the last run.
	if run.GetRunID() == rep.RunID {
		t.Fatal("the harvest finished in its first run: it never continued as new")
	}
	it := s.tc.GetWorkflowHistory(ctx, run.GetID(), rep.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
		d, _ := s.tc.DescribeWorkflowExecution(ctx, run.GetID(), rep.RunID)
		t.Fatalf("first run closed with %v after %d events, want continued-as-new", ev.GetEventType(), d.GetWorkflowExecutionInfo().GetHistoryLength())
	}
	var parts int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM harvest_parts WHERE run_id = $1 AND part >= 0`, rep.RunID).Scan(&parts); err != nil || parts != 256 {
		t.Fatalf("merged partitions %d, %v; want 256", parts, err)
	}
}
