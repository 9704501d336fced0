package gardener_test

import (
	"contextworker/internal/dev/stacktest"
	"flag"
)

// updateHistory rewrites the replay golden file of the gardener workflow
// (workflows/gardener/testdata/) from a real run: go test -run
// TestHarvestThenGardener ./modules/gardener/ -update-history
var updateHistory = flag.Bool("update-history", false, "record the gardener history used by the replay test")

// saveHistory writes the workflow's history as JSON (the format of
// `temporal workflow show --output json`).
func (s *stack) saveHistory(workflowID, runID, path string) {
	s.t.Helper()
	stacktest.SaveHistory(s.t, s.tc, workflowID, runID, path)
}
