package ingest_test

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/ingest"
)

// recordedHistories are histories recorded from real runs by the module's
// integration tests.
var recordedHistories = []string{
	// one document quarantined for forged citations, then released by signal
	"testdata/ingest_release_history.json",
	// the poisoning corpus as a JSONL batch: 4 chunks, 2 in flight
	"testdata/ingest_batch_history.json",
}

// TestReplay replays recorded histories against today's workflow code. A
// failure means a change broke determinism: guard it with
// workflow.GetVersion. Refresh the recordings with
// `go test -run 'TestIngestPoisonCorpus|TestIngestQuarantineReview' ./modules/ingest/ -update-history`,
// and keep old files: they are what running workflows look like.
func TestReplay(t *testing.T) {
	for _, file := range recordedHistories {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(ingest.Workflow, workflow.RegisterOptions{Name: ingest.WorkflowName})
			r.RegisterWorkflowWithOptions(ingest.BatchWorkflow, workflow.RegisterOptions{Name: ingest.BatchWorkflowName})
			if err := r.ReplayWorkflowHistory(nil, hist); err != nil {
				t.Fatalf("replay %s: %v", file, err)
			}
		})
	}
}
