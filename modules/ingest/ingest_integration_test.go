package ingest_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"contextworker/modules/ingest/critic"
	"contextworker/modules/ingest/extract"
	"contextworker/modules/ingest/sno"
	wf "contextworker/workflows/ingest"
)

func (s *stack) ingest(in wf.Input) (client.WorkflowRun, wf.Report) {
	s.t.Helper()
	ctx := s.ctx()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(&in), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		s.t.Fatal(err)
	}
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		s.t.Fatalf("ingest: %v%s", err, s.pending(run))
	}
	return run, rep
}

// TestIngestDocument ingests one honest document and checks what was
// stored against the formulas recomputed from the stored SNO.
func TestIngestDocument(t *testing.T) {
	s := newStack(t, "")
	text, err := os.ReadFile("testdata/samples/soil.txt")
	if err != nil {
		t.Fatal(err)
	}
	in := wf.Input{TenantID: "acme", Source: "journal-soil", Text: string(text), Metadata: map[string]string{"lang": "en"}}
	run, rep := s.ingest(in)
	if rep.Status != wf.StatusAdmitted || rep.SNOID != sno.ID("acme", text) {
		t.Fatalf("report %+v, want admitted SNO %s", rep, sno.ID("acme", text))
	}
	ctx := s.ctx()
	var raw []byte
	var emb []float32
	var status, submitter, wid string
	if err := s.db.QueryRow(ctx, `SELECT s.sno, s.embedding, s.status, p.submitter, p.workflow_id FROM ingest_snos s
		JOIN ingest_provenance p ON p.tenant_id = s.tenant_id AND p.sno_id = s.sno_id
		WHERE s.tenant_id = 'acme' AND s.sno_id = $1`, rep.SNOID).Scan(&raw, &emb, &status, &submitter, &wid); err != nil {
		t.Fatal(err)
	}
	var got sno.SNO
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	got.Embedding = emb
	if err := got.Validate(); err != nil {
		t.Fatalf("stored SNO: %v", err)
	}
	if wid != run.GetID() || submitter == "" || submitter == "unknown" {
		t.Fatalf("provenance: workflow %q submitter %q", wid, submitter)
	}
	// The first SNO of the tenant has no neighbour: recompute every score.
	want, err := extract.Rules{MaxClaims: 20}.Extract(context.Background(), string(text))
	if err != nil {
		t.Fatal(err)
	}
	g, l, n := critic.GroundingScore(&want, critic.Lexical{}), critic.LogicScore(&want.Graph), critic.NoveltyScore(&want.Graph, 0, false)
	trust := critic.Trust(critic.DefaultWeights, []sno.CriticResult{g, l, n})
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"grounding", rep.Scores.Grounding, g.Score}, {"logic", rep.Scores.Logic, l.Score}, {"novelty", rep.Scores.Novelty, n.Score}, {"trust", rep.Scores.Trust, trust}, {"stored trust", got.Trust, trust}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	var critics int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM ingest_critic_results WHERE tenant_id = 'acme' AND sno_id = $1`, rep.SNOID).Scan(&critics); err != nil || critics != 3 {
		t.Fatalf("critic rows %d (%v), want 3", critics, err)
	}
	// The text is stored by the activity; history holds it once, in the
	// start event, and the activity's input carries only its hash.
	var stored []byte
	if err := s.db.QueryRow(ctx, `SELECT body FROM ingest_texts WHERE tenant_id = 'acme'`).Scan(&stored); err != nil || string(stored) != string(text) {
		t.Fatalf("stored text %q (%v)", stored, err)
	}
	if n := s.historyMentions(run, "Poisoned records") + s.historyMentions(run, "topsoil organic carbon"); n != 1 {
		t.Fatalf("the text is in %d history events, want 1 (the start event)", n)
	}
	// The same document again is the same workflow id and the same SNO.
	_, again := s.ingest(in)
	if again.SNOID != rep.SNOID || again.Status != wf.StatusAdmitted {
		t.Fatalf("second ingest: %+v", again)
	}
	var snos int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM ingest_snos WHERE tenant_id = 'acme'`).Scan(&snos); err != nil || snos != 1 {
		t.Fatalf("%d SNOs (%v), want 1", snos, err)
	}
}

// historyMentions counts the events of run's history whose JSON contains s.
func (s *stack) historyMentions(run client.WorkflowRun, str string) int {
	s.t.Helper()
	it := s.tc.GetWorkflowHistory(s.ctx(), run.GetID(), run.GetRunID(), false, 0)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		// payload data sits verbatim in the binary encoding
		b, err := proto.Marshal(ev)
		if err != nil {
			s.t.Fatal(err)
		}
		if strings.Contains(string(b), str) {
			n++
		}
	}
	return n
}

// TestIngestQuarantineReview quarantines a document with forged
// citations, then an operator releases it; another is deleted.
func TestIngestQuarantineReview(t *testing.T) {
	s := newStack(t, "")
	ctx := s.ctx()
	forged, err := os.ReadFile("testdata/samples/poisoned-forged.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		decision, text, wantStatus string
	}{
		{wf.SignalRelease, string(forged), wf.StatusAdmitted},
		{wf.SignalDelete, strings.Replace(string(forged), "magnetic", "slightly magnetic", 1), wf.StatusDeleted},
	} {
		in := wf.Input{TenantID: "acme", Source: "forger", Text: tc.text}
		run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(&in), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
		if err != nil {
			t.Fatal(err)
		}
		s.waitPhase(run, "awaiting review")
		var reasons []string
		if err := s.db.QueryRow(ctx, `SELECT reasons FROM ingest_quarantine WHERE tenant_id = 'acme' AND sno_id = $1 AND decision IS NULL`,
			sno.ID("acme", []byte(tc.text))).Scan(&reasons); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(reasons, "unresolved_citations") {
			t.Fatalf("reasons %v, want unresolved_citations", reasons)
		}
		if err := s.tc.SignalWorkflow(ctx, run.GetID(), "", tc.decision, wf.Decision{Operator: "ops@acme", Note: "checked by hand"}); err != nil {
			t.Fatal(err)
		}
		var rep wf.Report
		if err := run.Get(ctx, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Status != tc.wantStatus || rep.Decision != tc.decision || rep.Operator != "ops@acme" {
			t.Fatalf("%s: report %+v", tc.decision, rep)
		}
		var decided, operator string
		if err := s.db.QueryRow(ctx, `SELECT q.decision, d.operator FROM ingest_quarantine q JOIN ingest_decisions d USING (tenant_id, sno_id)
			WHERE q.tenant_id = 'acme' AND q.sno_id = $1`, rep.SNOID).Scan(&decided, &operator); err != nil || decided != tc.decision || operator != "ops@acme" {
			t.Fatalf("decision recorded %q by %q (%v)", decided, operator, err)
		}
		if tc.decision == wf.SignalRelease && *updateHistory {
			s.saveHistory(run.GetID(), run.GetRunID(), "../../workflows/ingest/testdata/ingest_release_history.json")
		}
	}
	var vectors, texts int
	if err := s.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM ingest_vectors), (SELECT count(*) FROM ingest_texts)`).Scan(&vectors, &texts); err != nil {
		t.Fatal(err)
	}
	if vectors != 1 || texts != 1 {
		t.Fatalf("vectors %d texts %d: the released SNO joins the index, the deleted one's text is gone", vectors, texts)
	}
}

func (s *stack) waitPhase(run client.WorkflowRun, phase string) {
	s.t.Helper()
	ctx := s.ctx()
	for ctx.Err() == nil {
		v, err := s.tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), wf.QueryProgress)
		if err == nil {
			var p wf.Progress
			if err := v.Get(&p); err == nil && p.Phase == phase {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.t.Fatalf("workflow %s never reached phase %q", run.GetID(), phase)
}

// pending describes the last failure of run's pending activities, for a
// failure message.
func (s *stack) pending(run client.WorkflowRun) string {
	d, err := s.tc.DescribeWorkflowExecution(context.Background(), run.GetID(), run.GetRunID())
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, a := range d.GetPendingActivities() {
		b.WriteString("\n  pending " + a.GetActivityType().GetName() + ": " + a.GetLastFailure().GetMessage())
	}
	return b.String()
}
