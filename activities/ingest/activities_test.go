package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/ingest/extract"
	"contextworker/modules/ingest/sno"
	wf "contextworker/workflows/ingest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const honest = `We find that cover crops raise soil carbon [1]. Carbon grows because roots feed microbes [1].

References
[1] A. Author. Soil. 2015. doi:10.1016/j.agee.2014.10.024
`

func newTestDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return stacktest.DB(t, testenv.Postgres(t))
}

func newTestActivities(t testing.TB, db *pgxpool.Pool) *Activities {
	t.Helper()
	a, err := New(db, DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newActivities(t *testing.T, tweak func(*Config)) (*Activities, *pgxpool.Pool) {
	t.Helper()
	db := newTestDB(t)
	cfg := DefaultConfig()
	cfg.Network.AllowLoopback = true
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(db, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, db
}

// noHypothesis is an extractor that finds nothing, as a model might.
type noHypothesis struct{}

func (noHypothesis) Name() string { return "none" }
func (noHypothesis) Extract(context.Context, string) (sno.SNO, error) {
	return sno.SNO{}, extract.ErrNoHypothesis
}

// TestReasonCodes sends documents that trip each defence, one case per
// reason code, through scoring and admission on a real database.
func TestReasonCodes(t *testing.T) {
	flood := "We show that the pill cures all fatigue because it restores energy [1]. Buy it now.\n\nReferences\n[1] Shop. Report. 2024.\n"
	tests := []struct {
		name      string
		config    func(*Config)
		extractor extract.Extractor
		docs      []doc
		want      []string // "status reasons" per doc
	}{
		{"honest", nil, nil, []doc{{body: []byte(honest)}}, []string{"admitted"}},
		{"empty", nil, nil, []doc{{body: []byte(" \n ")}}, []string{"quarantined empty"}},
		{"oversize", func(c *Config) { c.Admission.MaxDocBytes = 50 }, nil, []doc{{body: []byte(honest)}}, []string{"quarantined oversize"}},
		{"invalid utf-8", nil, nil, []doc{{body: []byte("caf\xe9 society")}}, []string{"quarantined invalid_utf8"}},
		{"binary", nil, nil, []doc{{body: []byte("PK\x03\x04\x00\x00 zip")}}, []string{"quarantined binary"}},
		{"no hypothesis", nil, noHypothesis{}, []doc{{body: []byte(honest)}}, []string{"quarantined no_hypothesis"}},
		{"low trust", func(c *Config) { c.Admission.TrustThreshold = 0.95 }, nil, []doc{{body: []byte(honest)}}, []string{"quarantined low_trust"}},
		{"rate limited", func(c *Config) { c.Admission.RateLimit = 2 }, nil,
			[]doc{{body: []byte(honest)}, {body: []byte("A second, different document about whales and oceans.")}, {body: []byte("A third text on volcanoes and lava flows in Iceland.")}},
			[]string{"admitted", "admitted", "quarantined rate_limited"}},
		{"near-duplicate flood", nil, nil,
			[]doc{{body: []byte(flood)}, {body: []byte(strings.Replace(flood, "now", "today", 1))}, {body: []byte(strings.Replace(flood, "now", "here", 1))}},
			[]string{"admitted", "quarantined near_duplicate_flood", "quarantined near_duplicate_flood"}},
		{"unresolved citations", nil, nil, []doc{{body: []byte("We show that magnets cure colds [4]. This works because of doi:fake and http://localhost/x.")}},
			[]string{"quarantined unresolved_citations"}},
		{"unreadable", nil, nil, []doc{{failure: "fetch x: 404"}}, []string{"quarantined unreadable"}},
		{"unparseable", nil, nil, []doc{{failure: "line 1: bad json", failCode: ReasonUnparseable, body: []byte("{x")}}, []string{"quarantined unparseable"}},
		{"duplicate", nil, nil, []doc{{body: []byte(honest)}, {body: []byte(honest)}}, []string{"admitted", "duplicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, db := newActivities(t, tt.config)
			if tt.extractor != nil {
				a.Extractor = tt.extractor
			}
			for i := range tt.docs {
				tt.docs[i].source, tt.docs[i].item = "src", string(rune('a'+i))
			}
			sub := submission{tenant: "acme", workflowID: "w1", runID: "r1", submitter: "alice"}
			outs, err := a.process(context.Background(), sub, tt.docs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range outs {
				got = append(got, strings.TrimSpace(o.Status+" "+strings.Join(o.Reasons, ",")))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("outcomes %q, want %q", got, tt.want)
			}
			var quarantined, provenance int
			if err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM ingest_quarantine),
				(SELECT count(*) FROM ingest_provenance WHERE submitter = 'alice')`).Scan(&quarantined, &provenance); err != nil {
				t.Fatal(err)
			}
			wantQ := 0
			for _, w := range tt.want {
				if strings.HasPrefix(w, "quarantined") {
					wantQ++
				}
			}
			if quarantined != wantQ || provenance != len(tt.docs) {
				t.Fatalf("quarantine rows %d (want %d), provenance rows %d (want %d)", quarantined, wantQ, provenance, len(tt.docs))
			}
			// A retry of the same submission returns the recorded outcomes
			// and writes nothing.
			again, err := a.process(context.Background(), sub, tt.docs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range outs {
				if again[i].Status != outs[i].Status || !slices.Equal(again[i].Reasons, outs[i].Reasons) {
					t.Fatalf("retry outcome %+v, first %+v", again[i], outs[i])
				}
			}
			if err := db.QueryRow(context.Background(), `SELECT count(*) FROM ingest_provenance`).Scan(&provenance); err != nil || provenance != len(tt.docs) {
				t.Fatalf("a retry wrote provenance: %d rows (%v)", provenance, err)
			}
		})
	}
}

// TestStoredSNORoundTrip reads an SNO back from PostgreSQL and compares it
// with the one computed: the JSON column plus the embedding and extractor
// columns are lossless.
func TestStoredSNORoundTrip(t *testing.T) {
	a, db := newActivities(t, nil)
	ctx := context.Background()
	idx, err := a.indexes.get(ctx, db, "acme", a.Embedder.Name())
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.score(ctx, "acme", idx, doc{source: "src", body: []byte(honest)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.admit(ctx, submission{tenant: "acme", workflowID: "w", submitter: "x"}, []scored{s}); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	var emb []float32
	var extractor string
	if err := db.QueryRow(ctx, `SELECT sno, embedding, extractor FROM ingest_snos WHERE sno_id = $1`, s.snoID).Scan(&raw, &emb, &extractor); err != nil {
		t.Fatal(err)
	}
	if extractor != "rules-v1" {
		t.Errorf("stored extractor = %q, want the default rules-v1", extractor)
	}
	var got sno.SNO
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	got.Embedding, got.Extractor = emb, extractor
	if !reflect.DeepEqual(&got, s.sno) {
		t.Fatalf("stored SNO differs:\n got %+v\nwant %+v", got, *s.sno)
	}
	// Admitted: its vector is in the tenant's index now, and only there.
	if idx, err := a.indexes.get(ctx, db, "acme", a.Embedder.Name()); err != nil || idx.Len() != 1 {
		t.Fatalf("acme index: %v", err)
	}
	if idx, err := a.indexes.get(ctx, db, "other", a.Embedder.Name()); err != nil || idx.Len() != 0 {
		t.Fatalf("another tenant's index: %v", err)
	}
}

// TestDocumentActivity runs the Document activity alone, each case on a
// fresh database (the activity environment has one workflow id, and a
// workflow id's document is recorded once).
func TestDocumentActivity(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/doc" {
			io.WriteString(w, honest)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	start := wf.Input{TenantID: "acme", Source: "src", Text: honest}
	var suite testsuite.WorkflowTestSuite
	tests := []struct {
		name        string
		ref         wf.DocRef
		wantStatus  string
		wantReasons []string
		wantErr     string
	}{
		{"text by hash", wf.DocRef{TenantID: "acme", Source: "src", ContentSHA256: start.ContentSHA256()}, wf.StatusAdmitted, nil, ""},
		{"hash mismatch", wf.DocRef{TenantID: "acme", Source: "src", ContentSHA256: "00"}, "", nil, "does not match hash"},
		{"url", wf.DocRef{TenantID: "acme", Source: "web", URL: srv.URL + "/doc"}, wf.StatusAdmitted, nil, ""},
		{"url not found", wf.DocRef{TenantID: "acme", Source: "web", URL: srv.URL + "/missing"}, wf.StatusQuarantined, []string{"unreadable"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, db := newActivities(t, nil)
			a.StartEvent = func(_ context.Context, _, _ string, in any) (string, error) {
				if in != nil {
					*in.(*wf.Input) = start
				}
				return "starter sub=alice", nil
			}
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a.Document)
			v, err := env.ExecuteActivity(a.Document, tt.ref)
			if tt.wantErr != "" {
				var app *temporal.ApplicationError
				if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want a non-retryable %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var o wf.Outcome
			if err := v.Get(&o); err != nil {
				t.Fatal(err)
			}
			if o.Status != tt.wantStatus || !slices.Equal(o.Reasons, tt.wantReasons) {
				t.Fatalf("outcome %+v, want %s %v", o, tt.wantStatus, tt.wantReasons)
			}
			var submitter string
			var texts int
			if err := db.QueryRow(context.Background(), `SELECT submitter, (SELECT count(*) FROM ingest_texts) FROM ingest_provenance`).Scan(&submitter, &texts); err != nil || submitter != "alice" {
				t.Fatalf("submitter %q (%v), want alice from the starter's identity", submitter, err)
			}
			// Only a text that arrived in the start input is kept: a URL's
			// document can be fetched again.
			if wantTexts := map[bool]int{true: 1, false: 0}[tt.ref.ContentSHA256 != ""]; texts != wantTexts {
				t.Fatalf("%d stored texts, want %d", texts, wantTexts)
			}
		})
	}
}

func TestSubmitter(t *testing.T) {
	for in, want := range map[string]string{"starter sub=alice": "alice", "12@host@": "12@host@", "": "unknown"} {
		if got := Submitter(in); got != want {
			t.Errorf("Submitter(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadLineBounded(t *testing.T) {
	long := strings.Repeat("x", 200_000)
	br := bufio.NewReaderSize(strings.NewReader("short\n"+long+"\nlast"), 16)
	tests := []struct {
		line string
		long bool
	}{{"short", false}, {long[:1000], true}, {"last", false}}
	for _, tt := range tests {
		got, isLong, err := readLine(br, 1000)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if string(got) != tt.line || isLong != tt.long {
			t.Fatalf("line of %d bytes (long %v), want %d (long %v)", len(got), isLong, len(tt.line), tt.long)
		}
	}
	if _, _, err := readLine(br, 1000); err != io.EOF {
		t.Fatalf("after the last line: %v", err)
	}
}

// TestIndexPicksUpLateVectors: a vector whose sequence number is below one
// already loaded (its transaction committed later) still joins the index;
// vectors of another embedder (another dimension here) stay apart.
func TestIndexPicksUpLateVectors(t *testing.T) {
	a, db := newActivities(t, nil)
	ctx := context.Background()
	vec := make([]float32, 384)
	vec[0] = 1
	add := func(seq int64, id, embedder string, vec []float32) {
		t.Helper()
		if _, err := db.Exec(ctx, `INSERT INTO ingest_snos (tenant_id, sno_id, status, schema_version, hypothesis, trust, source,
				content_sha256, size_bytes, embedder, embedding) VALUES ('acme', $1, 'admitted', 1, 'h', 0.5, 's', 'x', 1, $2, $3)`,
			id, embedder, vec); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO ingest_vectors (seq, tenant_id, sno_id, embedder, embedding) VALUES ($1, 'acme', $2, $3, $4)`, seq, id, embedder, vec); err != nil {
			t.Fatal(err)
		}
	}
	name := a.Embedder.Name()
	add(1, "1", name, vec)
	add(3, "3", name, vec)
	add(4, "other-embedder", "other-v1", []float32{1, 0, 0})
	idx, err := a.indexes.get(ctx, db, "acme", name)
	if err != nil || idx.Len() != 2 {
		t.Fatalf("index of %d (%v), want 2", idx.Len(), err)
	}
	add(2, "late", name, vec)
	if idx, err = a.indexes.get(ctx, db, "acme", name); err != nil || idx.Len() != 3 {
		t.Fatalf("index of %d (%v), want 3 with the late vector", idx.Len(), err)
	}
	if idx, err = a.indexes.get(ctx, db, "acme", name); err != nil || idx.Len() != 3 {
		t.Fatalf("a refresh with nothing new changed the index: %d (%v)", idx.Len(), err)
	}
	other, err := a.indexes.get(ctx, db, "acme", "other-v1")
	if err != nil || other.Len() != 1 || other.Dim() != 3 {
		t.Fatalf("the other embedder's index: %d vectors of %d dims (%v), want 1 of 3", other.Len(), other.Dim(), err)
	}
	if id, _, ok := other.Nearest([]float32{1, 0, 0}, ""); !ok || id != "other-embedder" {
		t.Fatalf("nearest in the other embedder's index = %s %v", id, ok)
	}
}
