package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	wf "contextworker/workflows/ingest"
)

// writeJSONL writes n documents (with a blank line and a broken line) as
// docs.jsonl under a new file root.
func writeJSONL(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"text": "Document %d shows that topic %d matters because of reason %d.", "metadata": {"i": "%d"}}`+"\n", i, i*7919, i*104729, i)
		if i == 2 {
			b.WriteString("\n")
		}
	}
	b.WriteString("{broken\n")
	if err := os.WriteFile(filepath.Join(root, "docs.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestChunkResumes lists a JSONL file into chunks, runs one chunk as if a
// first attempt had heartbeated after 2 documents, and checks the rest is
// processed once, the counts include the checkpoint's, and a finished
// chunk returns its recorded counts.
func TestChunkResumes(t *testing.T) {
	root := writeJSONL(t, 9)
	a, db := newActivities(t, func(c *Config) { c.FileRoot, c.ChunkSize, c.SubBatch = "", 4, 2 })
	a.Config.FileRoot = root
	a.StartEvent = func(context.Context, string, string, any) (string, error) { return "cli@host", nil }
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a.BatchBegin)
	env.RegisterActivity(a.Chunk)
	v, err := env.ExecuteActivity(a.BatchBegin, wf.BatchInput{TenantID: "acme", Source: "s", JSONL: "docs.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	var plan wf.BatchPlan
	if err := v.Get(&plan); err != nil {
		t.Fatal(err)
	}
	// 10 non-blank lines (9 documents and a broken one) in chunks of 4.
	if plan.Chunks != 3 || plan.Documents != 10 || plan.Submitter != "cli@host" || plan.Kind != KindJSONL {
		t.Fatalf("plan %+v", plan)
	}
	// A retried BatchBegin finds the same listing.
	if v, err = env.ExecuteActivity(a.BatchBegin, wf.BatchInput{TenantID: "acme", Source: "s", JSONL: "docs.jsonl"}); err != nil {
		t.Fatal(err)
	}
	var again wf.BatchPlan
	if err := v.Get(&again); err != nil || again.Chunks != 3 || again.Documents != 10 {
		t.Fatalf("retried plan %+v (%v)", again, err)
	}

	// Chunk 0 holds lines 1-3 and 5 (line 4 is blank); pretend the first
	// attempt did 2 documents, both admitted.
	resumed := suite.NewTestActivityEnvironment()
	resumed.RegisterActivity(a.Chunk)
	resumed.SetHeartbeatDetails(checkpoint{Next: 2, Counts: wf.Counts{Documents: 2, Admitted: 2}})
	v, err = resumed.ExecuteActivity(a.Chunk, wf.ChunkRequest{Plan: plan, Chunk: 0})
	if err != nil {
		t.Fatal(err)
	}
	var c wf.Counts
	if err := v.Get(&c); err != nil {
		t.Fatal(err)
	}
	if c.Documents != 4 {
		t.Fatalf("counts %+v, want 4 documents (2 from the checkpoint)", c)
	}
	var items []string
	rows, err := db.Query(context.Background(), `SELECT item FROM ingest_provenance ORDER BY item`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		items = append(items, s)
	}
	if strings.Join(items, " ") != "line:3 line:5" {
		t.Fatalf("processed items %v, want only those after the checkpoint", items)
	}
	// Done: a retry returns the recorded counts without processing.
	v, err = env.ExecuteActivity(a.Chunk, wf.ChunkRequest{Plan: plan, Chunk: 0})
	if err != nil {
		t.Fatal(err)
	}
	var rec wf.Counts
	if err := v.Get(&rec); err != nil || rec != c {
		t.Fatalf("recorded counts %+v (%v), want %+v", rec, err, c)
	}
	// The last chunk holds the broken line: quarantined, the chunk goes on.
	v, err = env.ExecuteActivity(a.Chunk, wf.ChunkRequest{Plan: plan, Chunk: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&c); err != nil || c.Documents != 2 || c.Quarantined < 1 {
		t.Fatalf("last chunk %+v (%v)", c, err)
	}
	var reasons []string
	if err := db.QueryRow(context.Background(), `SELECT reasons FROM ingest_provenance WHERE item = 'line:11'`).Scan(&reasons); err != nil ||
		strings.Join(reasons, ",") != "unparseable" {
		t.Fatalf("broken line: %v (%v)", reasons, err)
	}
}

func TestBatchBeginRefuses(t *testing.T) {
	root := writeJSONL(t, 3)
	tests := []struct {
		name    string
		root    string
		in      wf.BatchInput
		wantErr string
	}{
		{"no file root", "", wf.BatchInput{TenantID: "acme", Source: "s", JSONL: "docs.jsonl"}, "file_root"},
		{"missing file", root, wf.BatchInput{TenantID: "acme", Source: "s", JSONL: "nope.jsonl"}, "nope.jsonl"},
		{"escaping symlink", root, wf.BatchInput{TenantID: "acme", Source: "s", Dir: "out"}, "out"},
	}
	if err := os.Symlink(os.TempDir(), filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newActivities(t, nil)
			a.Config.FileRoot = tt.root
			a.StartEvent = func(context.Context, string, string, any) (string, error) { return "x", nil }
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a.BatchBegin)
			_, err := env.ExecuteActivity(a.BatchBegin, tt.in)
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want a non-retryable one naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestDecide releases and deletes quarantined SNOs and refuses what
// cannot be decided; a retried request changes nothing.
func TestDecide(t *testing.T) {
	a, db := newActivities(t, nil)
	ctx := context.Background()
	forged := doc{item: "f", source: "s", body: []byte("We show that magnets cure colds [4]. This works because of doi:fake.")}
	forged2 := doc{item: "g", source: "s", body: []byte("We argue that tin foil blocks thoughts [9]. It works because of http://localhost/z.")}
	empty := doc{item: "e", source: "s", body: []byte("")}
	ok := doc{item: "o", source: "s", body: []byte(honest)}
	outs, err := a.process(ctx, submission{tenant: "acme", workflowID: "w", submitter: "x"}, []doc{forged, forged2, empty, ok})
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a.Decide)
	decide := func(decision, id, req string) (wf.Outcome, error) {
		v, err := env.ExecuteActivity(a.Decide, wf.DecideRequest{TenantID: "acme", Decision: decision, RequestID: req,
			Detail: wf.Decision{SNOID: id, Operator: "ops", Note: "n"}})
		var o wf.Outcome
		if err == nil {
			err = v.Get(&o)
		}
		return o, err
	}
	tests := []struct {
		name, decision, id, req, wantStatus, wantErr string
	}{
		{"release", wf.SignalRelease, outs[0].SNOID, "r1", wf.StatusAdmitted, ""},
		{"retried release", wf.SignalRelease, outs[0].SNOID, "r1", wf.StatusAdmitted, ""},
		{"release again", wf.SignalRelease, outs[0].SNOID, "r2", "", ErrTypeNotQuarantined},
		{"delete", wf.SignalDelete, outs[1].SNOID, "d1", wf.StatusDeleted, ""},
		{"release refused document", wf.SignalRelease, outs[2].SNOID, "r3", "", ErrTypeNothingToAdmit},
		{"delete refused document", wf.SignalDelete, outs[2].SNOID, "d2", wf.StatusDeleted, ""},
		{"admitted", wf.SignalDelete, outs[3].SNOID, "d3", "", ErrTypeNotQuarantined},
		{"unknown", wf.SignalDelete, "0000", "d4", "", ErrTypeUnknownSNO},
		{"bad decision", "approve", outs[3].SNOID, "x", "", ErrTypeBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := decide(tt.decision, tt.id, tt.req)
			if tt.wantErr != "" {
				var app *temporal.ApplicationError
				if !errors.As(err, &app) || app.Type() != tt.wantErr || !app.NonRetryable() {
					t.Fatalf("error %v, want a non-retryable %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || o.Status != tt.wantStatus {
				t.Fatalf("outcome %+v (%v), want %s", o, err, tt.wantStatus)
			}
		})
	}
	var decisions, vectors int
	var hyp string
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM ingest_decisions), (SELECT count(*) FROM ingest_vectors),
		(SELECT hypothesis FROM ingest_snos WHERE sno_id = $1)`, outs[1].SNOID).Scan(&decisions, &vectors, &hyp); err != nil {
		t.Fatal(err)
	}
	// release, delete, delete of the refused document; refused decisions
	// roll back; the retry is one row.
	if decisions != 3 || vectors != 2 || hyp != "" {
		t.Fatalf("decisions %d, vectors %d (honest + released), deleted hypothesis %q", decisions, vectors, hyp)
	}
}

// TestChunkOfURLs fetches a URL list: the same URL twice is two
// submissions of one SNO, and a missing document is quarantined as
// unreadable while the chunk goes on.
func TestChunkOfURLs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/doc" {
			io.WriteString(w, honest)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	a, db := newActivities(t, nil)
	a.StartEvent = func(context.Context, string, string, any) (string, error) { return "x", nil }
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a.BatchBegin)
	env.RegisterActivity(a.Chunk)
	in := wf.BatchInput{TenantID: "acme", Source: "web", URLs: []string{srv.URL + "/doc", srv.URL + "/missing", srv.URL + "/doc"}}
	v, err := env.ExecuteActivity(a.BatchBegin, in)
	if err != nil {
		t.Fatal(err)
	}
	var plan wf.BatchPlan
	if err := v.Get(&plan); err != nil || plan.Chunks != 1 || plan.Documents != 3 {
		t.Fatalf("plan %+v (%v)", plan, err)
	}
	if v, err = env.ExecuteActivity(a.Chunk, wf.ChunkRequest{Plan: plan, Chunk: 0}); err != nil {
		t.Fatal(err)
	}
	var c wf.Counts
	if err := v.Get(&c); err != nil {
		t.Fatal(err)
	}
	if want := (wf.Counts{Documents: 3, Admitted: 1, Quarantined: 1, Duplicates: 1}); c != want {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
	var items int
	if err := db.QueryRow(context.Background(), `SELECT count(DISTINCT item) FROM ingest_provenance`).Scan(&items); err != nil || items != 3 {
		t.Fatalf("%d distinct items (%v), want 3", items, err)
	}
}
