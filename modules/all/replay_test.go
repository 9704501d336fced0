package all_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/registry"
)

// recording is one entry of a workflows/<module>/testdata/replay.json
// manifest: a history recorded from a real run (the JSON of `temporal
// workflow show --output json`), the id it ran under (workflows behave by
// their id, and a history does not hold it) and what it covers.
type recording struct {
	File       string `json:"file"`
	WorkflowID string `json:"workflow_id"`
	Covers     string `json:"covers"`
}

// replayer adapts a WorkflowReplayer to the worker.Registry that modules
// register on: workflows go to the replayer, activities are not needed.
type replayer struct {
	worker.Registry
	r worker.WorkflowReplayer
}

func (p replayer) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	p.r.RegisterWorkflowWithOptions(w, o)
}
func (replayer) RegisterActivityWithOptions(any, activity.RegisterOptions) {}

// loadRecordings reads every module's replay manifest.
func loadRecordings(t *testing.T) map[string][]recording {
	t.Helper()
	manifests, err := filepath.Glob("../../workflows/*/testdata/replay.json")
	if err != nil || len(manifests) == 0 {
		t.Fatalf("no replay manifests under workflows/*/testdata (err %v)", err)
	}
	out := make(map[string][]recording)
	for _, m := range manifests {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var recs []recording
		if err := json.Unmarshal(data, &recs); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		for _, r := range recs {
			r.File = filepath.Join(filepath.Dir(m), r.File)
			out[m] = append(out[m], r)
		}
	}
	return out
}

func loadHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h
}

// newReplayer registers every built-in module's workflows on a replayer.
func newReplayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	for _, m := range registry.Default().Modules() {
		if err := m.Register(t.Context(), testDeps(t, m), replayer{r: r}); err != nil {
			t.Fatalf("register %s: %v", m.Name(), err)
		}
	}
	return r
}

// TestReplayRecordedHistories replays every recorded history against
// today's workflow code, and requires at least one recording of every
// registered workflow type. A failure means a change broke determinism:
// guard it with workflow.GetVersion and record the new branch too (see
// docs/replay.md); keep old recordings, they are what running workflows
// look like.
func TestReplayRecordedHistories(t *testing.T) {
	r := newReplayer(t)
	covered := make(map[string]bool)
	for manifest, recs := range loadRecordings(t) {
		for _, rec := range recs {
			t.Run(strings.TrimPrefix(rec.File, "../../"), func(t *testing.T) {
				h := loadHistory(t, rec.File)
				typ := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
				covered[typ] = true
				err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
					OriginalExecution: workflow.Execution{ID: rec.WorkflowID},
				})
				if err != nil {
					t.Fatalf("replay (%s, listed in %s): %v", rec.Covers, manifest, err)
				}
			})
		}
	}
	for _, m := range registry.Default().Modules() {
		for _, wf := range m.Workflows() {
			if !covered[wf.Name] {
				t.Errorf("workflow type %q (module %s) has no recorded history: record one from an integration test and list it in workflows/%s/testdata/replay.json (docs/replay.md)",
					wf.Name, m.Name(), m.Name())
			}
		}
	}
}

// TestReplayRefusesIncompatibleHistory proves the replay test can fail: a
// recorded history whose first activity is renamed no longer matches the
// workflow code, and replaying it must say so.
func TestReplayRefusesIncompatibleHistory(t *testing.T) {
	r := newReplayer(t)
	for _, recs := range loadRecordings(t) {
		rec := recs[0]
		h := loadHistory(t, rec.File)
		i := slices.IndexFunc(h.GetEvents(), func(e *historypb.HistoryEvent) bool {
			return e.GetActivityTaskScheduledEventAttributes() != nil
		})
		if i < 0 {
			continue
		}
		h.Events[i].GetActivityTaskScheduledEventAttributes().GetActivityType().Name = "incompatible.Renamed"
		err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
			OriginalExecution: workflow.Execution{ID: rec.WorkflowID},
		})
		if err == nil {
			t.Fatalf("%s with its first activity renamed replayed without error", rec.File)
		}
		t.Logf("as it must, %s with a renamed activity fails: %v", rec.File, err)
		return
	}
	t.Fatal("no recorded history schedules an activity")
}
