package ingest_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	wf "contextworker/workflows/ingest"
)

func (s *stack) batch(in wf.BatchInput) (client.WorkflowRun, wf.BatchReport) {
	s.t.Helper()
	ctx := s.ctx()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.BatchWorkflowID(&in), TaskQueue: wf.TaskQueue}, wf.BatchWorkflowName, in)
	if err != nil {
		s.t.Fatal(err)
	}
	var rep wf.BatchReport
	if err := run.Get(ctx, &rep); err != nil {
		s.t.Fatalf("ingest-batch: %v%s", err, s.pending(run))
	}
	return run, rep
}

// outcomes returns "outcome reason,reason" per item of a workflow's
// submissions.
func (s *stack) outcomes(workflowID string) map[string]string {
	s.t.Helper()
	rows, err := s.db.Query(s.ctx(), `SELECT item, outcome, array_to_string(reasons, ',') FROM ingest_provenance WHERE workflow_id = $1`, workflowID)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var item, outcome, reasons string
		if err := rows.Scan(&item, &outcome, &reasons); err != nil {
			s.t.Fatal(err)
		}
		out[item] = strings.TrimSpace(outcome + " " + reasons)
	}
	return out
}

// TestIngestPoisonCorpus runs the poisoning corpus (testdata/poison)
// through ingest-batch: a JSONL file with honest documents, a flood of
// near-duplicates from one source, forged citations, binary junk, an empty
// text and a broken line; then a directory with an honest document and
// binary, Latin-1 and empty files. The honest documents are admitted,
// everything else ends in quarantine with its reason, and the batches go
// on.
func TestIngestPoisonCorpus(t *testing.T) {
	s := newStack(t, "")
	run, rep := s.batch(wf.BatchInput{TenantID: "acme", Source: "upload", JSONL: "corpus.jsonl"})
	if *updateHistory {
		s.saveHistory(run.GetID(), run.GetRunID(), "../../workflows/ingest/testdata/ingest_batch_history.json")
	}
	got := s.outcomes(run.GetID())
	want := map[string]string{
		"line:1": "admitted", "line:2": "admitted", "line:3": "admitted", "line:4": "admitted", // honest (line 5 is blank)
		"line:12": "quarantined unresolved_citations", "line:13": "quarantined unresolved_citations",
		"line:14": "quarantined binary", "line:15": "quarantined empty", "line:16": "quarantined unparseable",
	}
	for item, w := range want {
		if got[item] != w {
			t.Errorf("%s: %q, want %q", item, got[item], w)
		}
	}
	// The flood (lines 6-11, source "spammer"): chunks run concurrently,
	// so which copy comes first may vary; exactly one is admitted.
	var flood []string
	for i := 6; i <= 11; i++ {
		flood = append(flood, got[fmt.Sprintf("line:%d", i)])
	}
	slices.Sort(flood)
	if wantFlood := []string{"admitted", "quarantined near_duplicate_flood", "quarantined near_duplicate_flood",
		"quarantined near_duplicate_flood", "quarantined near_duplicate_flood", "quarantined near_duplicate_flood"}; !slices.Equal(flood, wantFlood) {
		t.Errorf("flood outcomes %q, want %q", flood, wantFlood)
	}
	if len(got) != 15 {
		t.Errorf("%d submissions recorded, want 15: %v", len(got), got)
	}
	wantCounts := wf.Counts{Documents: 15, Admitted: 5, Quarantined: 10}
	if rep.Counts != wantCounts || rep.Chunks != 4 {
		t.Fatalf("report %+v, want counts %+v in 4 chunks", rep, wantCounts)
	}
	var quarantined int
	if err := s.db.QueryRow(s.ctx(), `SELECT count(*) FROM ingest_quarantine WHERE tenant_id = 'acme'`).Scan(&quarantined); err != nil || quarantined != 10 {
		t.Fatalf("%d quarantine rows (%v), want 10", quarantined, err)
	}

	run, rep = s.batch(wf.BatchInput{TenantID: "acme", Source: "files", Dir: "files"})
	got = s.outcomes(run.GetID())
	want = map[string]string{
		"file:honest.txt": "admitted", "file:junk.bin": "quarantined invalid_utf8,binary",
		"file:latin1.txt": "quarantined invalid_utf8", "file:empty.txt": "quarantined empty",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("directory outcomes %v, want %v", got, want)
	}
	if rep.Counts != (wf.Counts{Documents: 4, Admitted: 1, Quarantined: 3}) {
		t.Fatalf("report %+v", rep)
	}
}
