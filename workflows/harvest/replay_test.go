package harvest_test

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/harvest"
)

// recordedHistories are histories recorded from real runs, with the
// workflow id each ran under (the workflow's behaviour depends on it).
var recordedHistories = []struct {
	file, workflowID string
}{
	// stop 6: a first load that merged (empty) partitions
	{"testdata/harvest_history.json", harvest.WorkflowID("acme", "s1")},
	// since "first-load-skips-merge": a first load goes on to deactivation
	{"testdata/harvest_history_first_load.json", harvest.WorkflowID("acme", "s1")},
	// since "approve-before-merge": a run over the share asks before it
	// merges, and is rejected (modules/harvest TestRejectedRunLeavesTheCatalogue)
	{"testdata/harvest_history_approve_before_merge.json", harvest.WorkflowID("acme", "r1")},
	// a first load whose Stage signalled live counts (harvest-stage-progress)
	{"testdata/harvest_history_live_progress.json", harvest.WorkflowID("acme", "live")},
}

// TestReplay replays recorded histories against today's workflow code. A
// failure means a change broke determinism: guard it with
// workflow.GetVersion. Refresh a recording with
// `go test -run TestHarvestEndToEnd ./modules/harvest/ -update-history`, and
// keep old files: they are what running workflows look like.
func TestReplay(t *testing.T) {
	for _, h := range recordedHistories {
		t.Run(h.file, func(t *testing.T) {
			f, err := os.Open(h.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(harvest.Workflow, workflow.RegisterOptions{Name: harvest.WorkflowName})
			err = r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: h.workflowID},
			})
			if err != nil {
				t.Fatalf("replay %s: %v", h.file, err)
			}
		})
	}
}
