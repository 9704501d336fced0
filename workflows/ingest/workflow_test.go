package ingest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/ingest"
)

// fake stands in for the activities.
type fake struct {
	mu       sync.Mutex
	outcome  ingest.Outcome
	refs     []ingest.DocRef
	decides  []ingest.DecideRequest
	chunks   int
	inFlight int
	maxIn    int
	calls    []int
	failAt   int // chunk that fails non-retryably; -1: none
	// hold, when set, keeps the other chunks from finishing until it is
	// closed (or a timeout), so that a test can order them after failAt.
	hold chan struct{}
}

func (f *fake) document(_ context.Context, ref ingest.DocRef) (ingest.Outcome, error) {
	f.refs = append(f.refs, ref)
	return f.outcome, nil
}

func (f *fake) decide(_ context.Context, req ingest.DecideRequest) (ingest.Outcome, error) {
	f.decides = append(f.decides, req)
	if req.Detail.SNOID == "unknown" {
		return ingest.Outcome{}, temporal.NewNonRetryableApplicationError("no such SNO", "UnknownSNO", nil)
	}
	o := ingest.Outcome{SNOID: req.Detail.SNOID, Status: ingest.StatusAdmitted}
	if req.Decision == ingest.SignalDelete {
		o.Status = ingest.StatusDeleted
	}
	return o, nil
}

func (f *fake) begin(_ context.Context, in ingest.BatchInput) (ingest.BatchPlan, error) {
	return ingest.BatchPlan{RunID: "run-1", WorkflowID: "w", TenantID: in.TenantID, Source: in.Source, Kind: "jsonl",
		Chunks: f.chunks, Documents: 10 * f.chunks, Window: 2, ChunkTimeout: time.Hour, HeartbeatTimeout: time.Minute}, nil
}

func (f *fake) chunk(_ context.Context, req ingest.ChunkRequest) (ingest.Counts, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.calls = append(f.calls, req.Chunk)
	f.mu.Unlock()
	time.Sleep(time.Millisecond) // let other chunks start, if the workflow allowed them
	if f.hold != nil && req.Chunk != f.failAt {
		select {
		case <-f.hold:
		case <-time.After(10 * time.Second):
		}
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	if req.Chunk == f.failAt {
		return ingest.Counts{}, temporal.NewNonRetryableApplicationError("broken chunk", "Broken", nil)
	}
	return ingest.Counts{Documents: 10, Admitted: 7, Quarantined: 2, Duplicates: 1}, nil
}

func newEnv(t *testing.T, f *fake) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{TaskQueue: ingest.TaskQueue})
	env.RegisterWorkflowWithOptions(ingest.Workflow, workflow.RegisterOptions{Name: ingest.WorkflowName})
	env.RegisterWorkflowWithOptions(ingest.BatchWorkflow, workflow.RegisterOptions{Name: ingest.BatchWorkflowName})
	env.RegisterActivityWithOptions(f.document, activity.RegisterOptions{Name: ingest.ActivityDocument})
	env.RegisterActivityWithOptions(f.decide, activity.RegisterOptions{Name: ingest.ActivityDecide})
	env.RegisterActivityWithOptions(f.begin, activity.RegisterOptions{Name: ingest.ActivityBatchBegin})
	env.RegisterActivityWithOptions(f.chunk, activity.RegisterOptions{Name: ingest.ActivityChunk})
	return env
}

const secretText = "We show that the secret plan works because it was tested."

func TestIngestAdmitted(t *testing.T) {
	f := &fake{outcome: ingest.Outcome{SNOID: "abc", Status: ingest.StatusAdmitted, Scores: ingest.Scores{Trust: 0.6}}}
	env := newEnv(t, f)
	in := ingest.Input{TenantID: "acme", Source: "journal", Text: secretText}
	env.ExecuteWorkflow(ingest.WorkflowName, in)
	var rep ingest.Report
	if err := env.GetWorkflowResult(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != ingest.StatusAdmitted || rep.SNOID != "abc" {
		t.Fatalf("report %+v", rep)
	}
	// The activity gets the text's hash, never the text.
	if len(f.refs) != 1 || f.refs[0].ContentSHA256 != in.ContentSHA256() || f.refs[0].URL != "" {
		t.Fatalf("refs %+v", f.refs)
	}
	p := queryProgress(t, env)
	if p.Done != 1 || p.Admitted != 1 || p.Phase != ingest.StatusAdmitted {
		t.Fatalf("progress %+v", p)
	}
}

func queryProgress(t *testing.T, env *testsuite.TestWorkflowEnvironment) ingest.Progress {
	t.Helper()
	v, err := env.QueryWorkflow(ingest.QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var p ingest.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIngestReview(t *testing.T) {
	tests := []struct {
		name       string
		signal     string
		after      time.Duration
		wantStatus string
		wantCalls  int
	}{
		{"released", ingest.SignalRelease, time.Hour, ingest.StatusAdmitted, 1},
		{"deleted", ingest.SignalDelete, time.Minute, ingest.StatusDeleted, 1},
		{"no review in time", ingest.SignalRelease, 48 * time.Hour, ingest.StatusQuarantined, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{outcome: ingest.Outcome{SNOID: "q1", Status: ingest.StatusQuarantined, Reasons: []string{"low_trust"}, ReviewTimeout: 24 * time.Hour}}
			env := newEnv(t, f)
			env.RegisterDelayedCallback(func() {
				if p := queryProgress(t, env); p.Phase != "awaiting review" && tt.wantCalls > 0 {
					t.Errorf("phase %q while waiting", p.Phase)
				}
				env.SignalWorkflow(tt.signal, ingest.Decision{Operator: "ops", Note: "ok"})
			}, tt.after)
			env.ExecuteWorkflow(ingest.WorkflowName, ingest.Input{TenantID: "acme", Source: "journal", URL: "https://example.org/a"})
			var rep ingest.Report
			if err := env.GetWorkflowResult(&rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != tt.wantStatus || len(f.decides) != tt.wantCalls {
				t.Fatalf("report %+v, decide calls %d", rep, len(f.decides))
			}
			if tt.wantCalls == 1 {
				d := f.decides[0]
				if d.Detail.SNOID != "q1" || d.Decision != tt.signal || d.RequestID == "" || rep.Operator != "ops" {
					t.Fatalf("decide request %+v, report %+v", d, rep)
				}
			}
			if f.refs[0].URL == "" || f.refs[0].ContentSHA256 != "" {
				t.Fatalf("a URL document's ref %+v", f.refs[0])
			}
		})
	}
}

func TestIngestRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   ingest.Input
		want string
	}{
		{"no tenant", ingest.Input{Source: "s", Text: "x"}, "tenant_id"},
		{"no text or url", ingest.Input{TenantID: "acme", Source: "s"}, "text: one of text or url"},
		{"both", ingest.Input{TenantID: "acme", Source: "s", Text: "x", URL: "https://a.example"}, "url: give text or url"},
		{"ftp", ingest.Input{TenantID: "acme", Source: "s", URL: "ftp://a.example/x"}, "url:"},
		{"credentials in url", ingest.Input{TenantID: "acme", Source: "s", URL: "https://u:p@a.example/x"}, "without credentials"},
		{"bad source", ingest.Input{TenantID: "acme", Source: "a b", Text: "x"}, "source:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, &fake{})
			env.ExecuteWorkflow(ingest.WorkflowName, tt.in)
			err := env.GetWorkflowError()
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a non-retryable one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestWorkflowIDs(t *testing.T) {
	a := ingest.Input{TenantID: "acme", Source: "s1", Text: "same text"}
	b := ingest.Input{TenantID: "acme", Source: "s2", Text: "same text", Metadata: map[string]string{"k": "v"}}
	c := ingest.Input{TenantID: "other", Source: "s1", Text: "same text"}
	if ingest.WorkflowID(&a) != ingest.WorkflowID(&b) {
		t.Fatal("the same document from two sources should be one run")
	}
	if ingest.WorkflowID(&a) == ingest.WorkflowID(&c) {
		t.Fatal("tenants must not share ids")
	}
	if !strings.HasPrefix(ingest.WorkflowID(&a), "ingest/acme/") || len(ingest.WorkflowID(&a)) != len("ingest/acme/")+16 {
		t.Fatalf("id %q", ingest.WorkflowID(&a))
	}
}

func TestBatchRunsChunksInAWindow(t *testing.T) {
	f := &fake{chunks: 5, failAt: -1}
	env := newEnv(t, f)
	env.ExecuteWorkflow(ingest.BatchWorkflowName, ingest.BatchInput{TenantID: "acme", Source: "s", JSONL: "docs.jsonl"})
	var rep ingest.BatchReport
	if err := env.GetWorkflowResult(&rep); err != nil {
		t.Fatal(err)
	}
	want := ingest.Counts{Documents: 50, Admitted: 35, Quarantined: 10, Duplicates: 5}
	if rep.Counts != want || rep.Chunks != 5 || len(f.calls) != 5 {
		t.Fatalf("report %+v (calls %v), want %+v", rep, f.calls, want)
	}
	if f.maxIn > 2 {
		t.Fatalf("%d chunks in flight, window is 2", f.maxIn)
	}
	p := queryProgress(t, env)
	if p.Done != 50 || p.Total != 50 || p.Admitted != 35 || p.Quarantined != 10 || p.ChunksDone != 5 || p.Phase != "done" {
		t.Fatalf("progress %+v", p)
	}
}

// TestBatchFailsOnABrokenChunk: once a chunk has failed, no other starts.
// Chunk 0 is held until chunk 1 has failed, so the workflow learns of the
// failure while both are in flight: which chunks may start after it does
// not depend on how fast the others finish (it did, and a loaded machine
// once saw chunks 2 and 3 finish first).
func TestBatchFailsOnABrokenChunk(t *testing.T) {
	f := &fake{chunks: 5, failAt: 1, hold: make(chan struct{})}
	env := newEnv(t, f)
	var once sync.Once
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if info.ActivityType.Name == ingest.ActivityChunk && err != nil {
			once.Do(func() { close(f.hold) })
		}
	})
	env.ExecuteWorkflow(ingest.BatchWorkflowName, ingest.BatchInput{TenantID: "acme", Source: "s", URLs: []string{"https://a.example/1"}})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "chunk 1") {
		t.Fatalf("error %v, want chunk 1's", err)
	}
	f.mu.Lock()
	calls := slices.Sorted(slices.Values(f.calls))
	f.mu.Unlock()
	if !slices.Equal(calls, []int{0, 1}) {
		t.Fatalf("chunks %v started, want 0 and 1 (the window) and none after the failure", calls)
	}
}

func TestBatchContinuesAsNew(t *testing.T) {
	f := &fake{chunks: 6, failAt: -1}
	env := newEnv(t, f)
	done := 0
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == ingest.ActivityChunk {
			if done++; done == 2 {
				env.SetContinueAsNewSuggested(true)
			}
		}
	})
	in := ingest.BatchInput{TenantID: "acme", Source: "s", Dir: "docs"}
	env.ExecuteWorkflow(ingest.BatchWorkflowName, in)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	var next ingest.BatchInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	// Chunks in flight are drained before continuing: all started are done.
	if st == nil || st.Plan == nil || st.Next != st.ChunksDone || st.Totals.Documents != 10*st.ChunksDone || st.Continuation != 1 {
		t.Fatalf("carried state %+v", st)
	}

	// The continued run resumes after the carried chunks, without BatchBegin.
	f2 := &fake{chunks: 99, failAt: -1}
	env2 := newEnv(t, f2)
	env2.SetContinuedExecutionRunID("previous")
	env2.ExecuteWorkflow(ingest.BatchWorkflowName, next)
	var rep ingest.BatchReport
	if err := env2.GetWorkflowResult(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Documents != 60 || rep.Chunks != 6 || len(f2.calls) != 6-st.Next {
		t.Fatalf("report %+v after %d more chunks", rep, len(f2.calls))
	}
	// A caller cannot hand in state.
	env3 := newEnv(t, f2)
	env3.ExecuteWorkflow(ingest.BatchWorkflowName, next)
	if err := env3.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "state") {
		t.Fatalf("caller-made state accepted: %v", err)
	}
}

func TestBatchAppliesDecisions(t *testing.T) {
	f := &fake{chunks: 3, failAt: -1}
	env := newEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ingest.SignalRelease, ingest.Decision{SNOID: "s1", Operator: "ops"})
		env.SignalWorkflow(ingest.SignalDelete, ingest.Decision{SNOID: "unknown", Operator: "ops"})
	}, 0)
	env.ExecuteWorkflow(ingest.BatchWorkflowName, ingest.BatchInput{TenantID: "acme", Source: "s", JSONL: "x.jsonl"})
	var rep ingest.BatchReport
	if err := env.GetWorkflowResult(&rep); err != nil {
		t.Fatal(err)
	}
	// the refused decision (unknown SNO) does not fail the batch
	if len(f.decides) != 2 || rep.Decisions != 1 || rep.Documents != 30 {
		t.Fatalf("decides %+v, report %+v", f.decides, rep)
	}
	if f.decides[0].RequestID == f.decides[1].RequestID {
		t.Fatal("two decisions share a request id")
	}
}
