package gardener_test

import (
	"context"
	"flag"
	"os"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// updateHistory rewrites the replay golden file of the gardener workflow
// (workflows/gardener/testdata/) from a real run: go test -run
// TestHarvestThenGardener ./modules/gardener/ -update-history
var updateHistory = flag.Bool("update-history", false, "record the gardener history used by the replay test")

// saveHistory writes the workflow's history as JSON (the format of
// `temporal workflow show --output json`).
func (s *stack) saveHistory(workflowID, runID, path string) {
	s.t.Helper()
	it := s.tc.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("recorded %d events into %s", len(h.Events), path)
}
