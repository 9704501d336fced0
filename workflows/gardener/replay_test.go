package gardener_test

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/gardener"
)

// recordedHistories are histories recorded from real runs, with the
// workflow id each ran under (the workflow's behaviour depends on it).
var recordedHistories = []struct {
	file, workflowID string
}{
	// a first pass over a catalogue, in batches across two Enrich calls
	{"testdata/gardener_history.json", gardener.WorkflowID("acme")},
}

// TestReplay replays recorded histories against today's workflow code. A
// failure means a change broke determinism: guard it with
// workflow.GetVersion. Refresh a recording with
// `go test -run TestHarvestThenGardener ./modules/gardener/ -update-history`,
// and keep old files: they are what running workflows look like.
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
			r.RegisterWorkflowWithOptions(gardener.Workflow, workflow.RegisterOptions{Name: gardener.WorkflowName})
			err = r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: h.workflowID},
			})
			if err != nil {
				t.Fatalf("replay %s: %v", h.file, err)
			}
		})
	}
}
