package ingest_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"contextworker/modules/ingest/sno"
	wf "contextworker/workflows/ingest"
)

// fakeAPI is a local server speaking the two OpenAI APIs the optional
// extractor and embedder call: chat completions (answering llmAnswer for
// any document) and embeddings (fakeVector of each input). It refuses a
// request without the expected bearer key, and answers the first chat
// request 401 so that a failed activity attempt is in history.
type fakeAPI struct {
	srv *httptest.Server
	key string

	mu        sync.Mutex
	documents []string // the user messages of chat requests
	chats     int
	embeds    [][]string
}

const fakeDims = 8

const llmDocument = `We propose that night-time irrigation saves water on sandy soils.
Evaporation is lowest after dusk, as the field study of 2019 measured (doi:10.1016/j.agwat.2019.105703).
Sandy soils drain fast, so water given at night reaches the roots before it is lost.
`

// llmAnswer is the fake model's answer: deliberately not what the rules
// extractor would find, so the stored SNO shows which one built it.
const llmAnswer = `{"hypothesis": "Irrigating sandy soils at night saves water.",
 "claims": [{"id": "dusk", "text": "Evaporation is lowest after dusk."},
            {"id": "drain", "text": "Sandy soils drain fast."}],
 "edges": [{"from": "dusk", "to": "h", "relation": "SUPPORTS", "strength": 0.8},
           {"from": "drain", "to": "dusk", "relation": "EXPLAINS", "strength": 0.4}],
 "evidence": [{"excerpt": "Evaporation is lowest after dusk, as the field study of 2019 measured (doi:10.1016/j.agwat.2019.105703).",
               "citation": "doi:10.1016/j.agwat.2019.105703"}]}`

// fakeVector is the fake embedding model: letter counts folded into
// fakeDims buckets, not normalised.
func fakeVector(s string) []float64 {
	v := make([]float64, fakeDims)
	for _, b := range []byte(s) {
		v[int(b)%fakeDims]++
	}
	return v
}

func newFakeAPI(t *testing.T, key string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{key: key}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.URL.Path {
		case "/v1/chat/completions":
			var req struct {
				Messages []struct{ Content string } `json:"messages"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) < 2 {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if f.chats++; f.chats == 1 {
				http.Error(w, "try the key again", http.StatusUnauthorized)
				return
			}
			f.documents = append(f.documents, req.Messages[1].Content)
			_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": llmAnswer}}}})
		case "/v1/embeddings":
			var req struct {
				Model string   `json:"model"`
				Input []string `json:"input"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "fake-embed" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			f.embeds = append(f.embeds, req.Input)
			var data []any
			for i, in := range req.Input {
				data = append(data, map[string]any{"index": i, "embedding": fakeVector(in)})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// TestIngestWithLLMAndOpenAIEmbedder ingests a document on the real stack
// with the llm extractor and the openai embedder pointed at a local fake
// of both APIs, and checks that the stored SNO is the fake model's (its
// hypothesis, claims and evidence; an embedding of the fake's dimension,
// named by model and dimension), and that the API key, resolved from an
// env: ref inside the worker, is in no event of the workflow's history,
// though a failed attempt that names its ref is.
func TestIngestWithLLMAndOpenAIEmbedder(t *testing.T) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	key := "sk-illm-" + hex.EncodeToString(b)
	t.Setenv("ILLM_FAKE_KEY", key)
	api := newFakeAPI(t, key)
	s := newStack(t, `chunk_size: 4
sub_batch: 2
window: 2
extractor:
  kind: llm
  llm:
    url: `+api.srv.URL+`/v1/chat/completions
    model: fake-chat
    api_key: env:ILLM_FAKE_KEY
    timeout: 10s
    max_retries: 1
    requests_per_second: 100
    burst: 10
embedder:
  kind: openai
  openai:
    url: `+api.srv.URL+`/v1/embeddings
    model: fake-embed
    api_key: env:ILLM_FAKE_KEY
    dimensions: 8
    timeout: 10s
    requests_per_second: 100
    burst: 10
`)
	in := wf.Input{TenantID: "illm", Source: "irrigation-notes", Text: llmDocument}
	run, rep := s.ingest(in)
	if rep.SNOID != sno.ID("illm", []byte(llmDocument)) || (rep.Status != wf.StatusAdmitted && rep.Status != wf.StatusQuarantined) {
		t.Fatalf("report %+v", rep)
	}

	ctx := s.ctx()
	var raw []byte
	var emb []float32
	var embedder, hypothesis string
	if err := s.db.QueryRow(ctx, `SELECT sno, embedding, embedder, hypothesis FROM ingest_snos WHERE tenant_id = 'illm' AND sno_id = $1`,
		rep.SNOID).Scan(&raw, &emb, &embedder, &hypothesis); err != nil {
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
	wantGraph := sno.Graph{
		Nodes: []sno.Node{{ID: "h", Type: sno.NodeHypothesis, Text: "Irrigating sandy soils at night saves water."},
			{ID: "c1", Type: sno.NodeClaim, Text: "Evaporation is lowest after dusk."}, {ID: "c2", Type: sno.NodeClaim, Text: "Sandy soils drain fast."}},
		Edges: []sno.Edge{{From: "c1", To: "h", Relation: sno.Supports, Strength: 0.8}, {From: "c2", To: "c1", Relation: sno.Explains, Strength: 0.4}},
	}
	if hypothesis != "Irrigating sandy soils at night saves water." || got.Hypothesis != hypothesis || !reflect.DeepEqual(got.Graph, wantGraph) {
		t.Errorf("stored hypothesis %q, graph %+v; want the fake model's", hypothesis, got.Graph)
	}
	if len(got.Evidence) != 1 || got.Evidence[0].SourceID != "doi:10.1016/j.agwat.2019.105703" || !got.Evidence[0].Resolved {
		t.Errorf("stored evidence %+v, want the fake model's DOI", got.Evidence)
	}
	if embedder != "openai:fake-embed:8" || len(emb) != fakeDims {
		t.Fatalf("embedder %q, embedding of %d numbers; want openai:fake-embed:8 of %d", embedder, len(emb), fakeDims)
	}
	want := fakeVector(hypothesis)
	var norm float64
	for _, x := range want {
		norm += x * x
	}
	for i := range emb {
		if math.Abs(float64(emb[i])-want[i]/math.Sqrt(norm)) > 1e-6 {
			t.Fatalf("stored embedding %v, want the fake's vector of the hypothesis, normalised", emb)
		}
	}

	api.mu.Lock()
	chats, documents, embeds := api.chats, api.documents, api.embeds
	api.mu.Unlock()
	var sent struct{ Document string }
	if chats != 2 || len(documents) != 1 || json.Unmarshal([]byte(documents[0]), &sent) != nil || sent.Document != llmDocument {
		t.Errorf("chat requests %d, documents %q; want a refused one, then the document", chats, documents)
	}
	if len(embeds) != 1 || !reflect.DeepEqual(embeds[0], []string{hypothesis, llmDocument}) {
		t.Errorf("embeddings requests %q, want one of the hypothesis and the text", embeds)
	}

	// The first attempt failed on the 401 and history records that
	// failure, naming the key's ref; the key itself is nowhere.
	if n := s.historyMentions(run, "env:ILLM_FAKE_KEY"); n == 0 {
		t.Errorf("no history event records the failed attempt (naming env:ILLM_FAKE_KEY); the key check below would prove nothing")
	}
	if n := s.historyMentions(run, key); n != 0 {
		t.Errorf("the API key is in %d history events", n)
	}
}
