package extract

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"contextworker/internal/llm"
	"contextworker/internal/llm/llmtest"
	"contextworker/internal/secret"
	"contextworker/modules/ingest/sno"
)

// chatServer is a local chat-completions server (llmtest) answering with
// its script's replies in turn (the last one repeats).
type chatServer struct{ *llmtest.Server }

type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []llm.Message  `json:"messages"`
	ResponseFormat map[string]any `json:"response_format"`
}

func newChatServer(t *testing.T, script ...llmtest.Reply) *chatServer {
	t.Helper()
	return &chatServer{llmtest.New(t, "/v1/chat/completions", llmtest.Script(script...))}
}

func (s *chatServer) requests(t *testing.T) []chatRequest {
	t.Helper()
	return llmtest.Decode[chatRequest](t, s.Requests())
}

// newLLM returns an extractor of s whose client retries without sleeping.
func newLLM(t *testing.T, s *chatServer, mod func(*llm.Config)) *LLM {
	t.Helper()
	cfg := llm.DefaultConfig()
	cfg.URL, cfg.Model, cfg.RequestsPerSecond, cfg.Burst, cfg.MaxRetries = s.URL+"/v1/chat/completions", "fake-model", 1000, 10, 2
	cfg.Timeout = 5 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	c, err := llm.New(cfg, nil, func(k string) (string, bool) { return "sk-test", k == "FAKE_KEY" })
	if err != nil {
		t.Fatal(err)
	}
	c.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return &LLM{Client: c, MaxClaims: 5}
}

const llmDoc = `We argue that mulching raises soil moisture.
Mulch shades the soil, as field trials show [1].
Evaporation falls by a third (Smith 2021).

References
[1] A. Author. Mulch trials. 2020.
Smith, J. Evaporation. 2021.
`

// valid is a valid answer for llmDoc.
const valid = `{"hypothesis": "We argue that mulching raises soil moisture.",
 "claims": [{"id": "shade", "text": "Mulch shades the soil."}, {"id": "evap", "text": "Evaporation falls by a third."}],
 "edges": [{"from": "shade", "to": "evap", "relation": "EXPLAINS", "strength": 0.7},
           {"from": "evap", "to": "h", "relation": "SUPPORTS", "strength": 0.9}],
 "evidence": [{"excerpt": "Mulch shades the soil, as field trials show [1].", "citation": "[1]"},
              {"excerpt": "Evaporation falls by a third (Smith 2021).", "citation": "(Smith 2021)"}]}`

func TestLLMExtract(t *testing.T) {
	s := newChatServer(t, llmtest.Reply{Content: valid})
	e := newLLM(t, s, func(c *llm.Config) { c.APIKey = secret.Env("FAKE_KEY") })
	got, err := e.Extract(context.Background(), llmDoc)
	if err != nil {
		t.Fatal(err)
	}
	want := sno.SNO{SchemaVersion: sno.SchemaVersion, Hypothesis: "We argue that mulching raises soil moisture.",
		Graph: sno.Graph{
			Nodes: []sno.Node{{ID: "h", Type: sno.NodeHypothesis, Text: "We argue that mulching raises soil moisture."},
				{ID: "c1", Type: sno.NodeClaim, Text: "Mulch shades the soil."}, {ID: "c2", Type: sno.NodeClaim, Text: "Evaporation falls by a third."}},
			Edges: []sno.Edge{{From: "c1", To: "c2", Relation: sno.Explains, Strength: 0.7}, {From: "c2", To: "h", Relation: sno.Supports, Strength: 0.9}},
		},
		Evidence: []sno.Evidence{sno.NewEvidence("Mulch shades the soil, as field trials show [1].", "ref:1", 0.6, true),
			sno.NewEvidence("Evaporation falls by a third (Smith 2021).", "cite:smith-2021", 0.7, true)},
		Extractor: "llm-v1:fake-model",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Extract =\n%+v\nwant\n%+v", got, want)
	}
	got.ID = "x"
	if err := got.Validate(); err != nil {
		t.Fatalf("SNO invalid: %v", err)
	}
	reqs := s.requests(t)
	if len(reqs) != 1 || reqs[0].Model != "fake-model" || s.Requests()[0].Auth != "Bearer sk-test" {
		t.Fatalf("requests %+v auth %q", reqs, s.Requests()[0].Auth)
	}
	if reqs[0].ResponseFormat["type"] != "json_schema" || reqs[0].ResponseFormat["json_schema"].(map[string]any)["name"] != "sno_extraction" {
		t.Errorf("response_format = %v, want the answer schema", reqs[0].ResponseFormat)
	}
	var user struct {
		Document  string `json:"document"`
		Truncated bool   `json:"truncated"`
	}
	if err := json.Unmarshal([]byte(reqs[0].Messages[1].Content), &user); err != nil || user.Document != llmDoc || user.Truncated {
		t.Errorf("user message = %q (%v), want the document", reqs[0].Messages[1].Content, err)
	}
}

// TestLLMInputBound: a document over MaxInputBytes is cut at a rune
// boundary and marked truncated; JSONObject asks for json_object.
func TestLLMInputBound(t *testing.T) {
	s := newChatServer(t, llmtest.Reply{Content: valid})
	e := newLLM(t, s, nil)
	e.MaxInputBytes, e.JSONObject = 50, true
	doc := strings.Repeat("é", 10) + llmDoc // 'é' is 2 bytes
	if _, err := e.Extract(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	req := s.requests(t)[0]
	var user struct {
		Document  string `json:"document"`
		Truncated bool   `json:"truncated"`
	}
	if err := json.Unmarshal([]byte(req.Messages[1].Content), &user); err != nil {
		t.Fatal(err)
	}
	if len(user.Document) > 50 || !strings.HasPrefix(doc, user.Document) || !user.Truncated || !strings.HasSuffix(user.Document, "We argue that mulching raises ") {
		t.Errorf("sent %q (truncated %v), want the first 50 bytes", user.Document, user.Truncated)
	}
	if req.ResponseFormat["type"] != "json_object" {
		t.Errorf("response_format = %v", req.ResponseFormat)
	}
}

// TestLLMPolicy: what each kind of answer or failure becomes.
func TestLLMPolicy(t *testing.T) {
	cycle := `{"hypothesis": "H.", "claims": [{"id": "a", "text": "A."}, {"id": "b", "text": "B."}],
	 "edges": [{"from": "a", "to": "b", "relation": "IMPLIES", "strength": 0.5}, {"from": "b", "to": "a", "relation": "IMPLIES", "strength": 0.5}], "evidence": []}`
	tests := []struct {
		name     string
		script   []llmtest.Reply
		fallback bool
		wantErr  string  // substring of the error; "" for success
		is       []error // the error wraps these
		want     string  // the hypothesis on success
		fellBack bool    // the rules built it
		requests int     // chat requests made
		retold   bool    // the second request says what was wrong
	}{
		{name: "invalid then valid", script: []llmtest.Reply{{Content: `{"hypothesis": "x"}`}, {Content: valid}},
			want: "We argue that mulching raises soil moisture.", requests: 2, retold: true},
		{name: "invalid twice falls back to rules", script: []llmtest.Reply{{Content: "not json"}}, fallback: true,
			want: "We argue that mulching raises soil moisture.", fellBack: true, requests: 2, retold: true},
		{name: "invalid twice without fallback", script: []llmtest.Reply{{Content: `{"hypothesis": "H.", "claims": [], "edges": [], "evidence": [], "extra": "the document's secret"}`}},
			wantErr: "a key the schema does not have", is: []error{ErrInvalidAnswer}, requests: 2, retold: true},
		{name: "cycle refused naming it", script: []llmtest.Reply{{Content: cycle}},
			wantErr: "edge would close a cycle: c2 -> c1 -> c2", is: []error{ErrInvalidAnswer, sno.ErrCycle}, requests: 2},
		{name: "wrong types named", script: []llmtest.Reply{{Content: `{"hypothesis": 3, "claims": [], "edges": [], "evidence": []}`}},
			wantErr: "hypothesis: must be a JSON string", is: []error{ErrInvalidAnswer}, requests: 2},
		{name: "bounds and fields named", script: []llmtest.Reply{{Content: `{"hypothesis": "H.", "claims": [{"id": "h", "text": ""}],
			"edges": [{"from": "zz", "to": "h", "relation": "CAUSES", "strength": 1.5}], "evidence": [{"excerpt": "", "citation": "[1]"}]}`}},
			wantErr: `claims[0].id: must match`, is: []error{ErrInvalidAnswer}, requests: 2},
		{name: "too many claims", script: []llmtest.Reply{{Content: `{"hypothesis": "H.", "claims": [{"id":"a","text":"A"},{"id":"b","text":"B"},{"id":"c","text":"C"},{"id":"d","text":"D"},{"id":"e","text":"E"},{"id":"f","text":"F"}], "edges": [], "evidence": []}`}},
			wantErr: "claims: 6, more than 5", is: []error{ErrInvalidAnswer}, requests: 2},
		{name: "answer cut short", script: []llmtest.Reply{{Content: valid[:100]}},
			wantErr: "cut short", is: []error{ErrInvalidAnswer}, requests: 2},
		{name: "oversize answer is an invalid answer", script: []llmtest.Reply{{Content: strings.Repeat("x", 5000)}}, fallback: true,
			want: "We argue that mulching raises soil moisture.", fellBack: true, requests: 2},
		{name: "5xx retried by the client", script: []llmtest.Reply{{Status: 503}, {Status: 502}, {Content: valid}},
			want: "We argue that mulching raises soil moisture.", requests: 3},
		{name: "outage is an error, never a fallback", script: []llmtest.Reply{{Status: 500}}, fallback: true,
			wantErr: "after 3 attempts: HTTP 500", requests: 3},
		{name: "401 hints at the key", script: []llmtest.Reply{{Status: 401}}, fallback: true,
			wantErr: "HTTP 401 Unauthorized (check api_key env:FAKE_KEY)", requests: 1},
		{name: "404 hints at url and model", script: []llmtest.Reply{{Status: 404}},
			wantErr: `check url and model "fake-model"`, requests: 1},
		{name: "not a chat completion is the server's fault", script: []llmtest.Reply{{Body: "<html>"}}, fallback: true,
			wantErr: llm.ErrBadBody.Error(), is: []error{llm.ErrBadBody}, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newChatServer(t, tt.script...)
			e := newLLM(t, s, func(c *llm.Config) { c.APIKey, c.MaxResponseBytes = secret.Env("FAKE_KEY"), 4096 })
			if tt.fallback {
				e.Fallback = Rules{}
			}
			got, err := e.Extract(context.Background(), llmDoc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				for _, target := range tt.is {
					if !errors.Is(err, target) {
						t.Errorf("err = %v, want it to be %v", err, target)
					}
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sk-test") {
					t.Errorf("err = %v quotes the answer or the key", err)
				}
			} else if err != nil || got.Hypothesis != tt.want {
				t.Fatalf("Extract = %q, %v; want %q", got.Hypothesis, err, tt.want)
			} else if want := map[bool]string{true: Rules{}.Name(), false: e.Name()}[tt.fellBack]; got.Extractor != want {
				t.Errorf("Extractor = %q, want %q", got.Extractor, want)
			}
			reqs := s.requests(t)
			if len(reqs) != tt.requests {
				t.Fatalf("requests = %d, want %d", len(reqs), tt.requests)
			}
			if tt.retold && (len(reqs[1].Messages) != 3 || !strings.HasPrefix(reqs[1].Messages[2].Content, "Your previous answer was invalid: ")) {
				t.Errorf("second request's messages = %+v, want the problem told", reqs[1].Messages)
			}
		})
	}
}

// TestLLMFallbackIsRules: the fallback's SNO is exactly what Rules
// returns.
func TestLLMFallbackIsRules(t *testing.T) {
	e := newLLM(t, newChatServer(t, llmtest.Reply{Content: "[]"}), nil)
	e.Fallback = Rules{MaxClaims: 5}
	got, err := e.Extract(context.Background(), llmDoc)
	want, werr := Rules{MaxClaims: 5}.Extract(context.Background(), llmDoc)
	if err != nil || werr != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("fallback = %+v, %v; want rules' %+v, %v", got, err, want, werr)
	}
	if got.Extractor != "rules-v1" {
		t.Fatalf("fallback's Extractor = %q, want the rules' rules-v1", got.Extractor)
	}
}

// TestLLMEvidenceChecked: evidence whose excerpt is not in the document,
// whose citation is not in its excerpt, or whose citation is no citation
// is dropped; the rest stays.
func TestLLMEvidenceChecked(t *testing.T) {
	ans := `{"hypothesis": "H.", "claims": [], "edges": [], "evidence": [
	 {"excerpt": "Mulch shades the soil, as field trials show [1].", "citation": "[1]"},
	 {"excerpt": "A quotation the document never made [2].", "citation": "[2]"},
	 {"excerpt": "Mulch shades the soil, as field trials show [1].", "citation": "[9]"},
	 {"excerpt": "Mulch shades the soil, as field trials show [1].", "citation": "field trials"}]}`
	e := newLLM(t, newChatServer(t, llmtest.Reply{Content: ans}), nil)
	got, err := e.Extract(context.Background(), llmDoc)
	if err != nil {
		t.Fatal(err)
	}
	want := []sno.Evidence{sno.NewEvidence("Mulch shades the soil, as field trials show [1].", "ref:1", 0.6, true)}
	if !reflect.DeepEqual(got.Evidence, want) {
		t.Fatalf("evidence = %+v, want %+v", got.Evidence, want)
	}
}

// TestAnswerSchemaInStep: the schema sent to the model lists the fields
// the answer types decode, requires them all, and enumerates exactly the
// SNO's relations.
func TestAnswerSchemaInStep(t *testing.T) {
	type object struct {
		Type       string            `json:"type"`
		Required   []string          `json:"required"`
		Properties map[string]object `json:"properties"`
		Items      *object           `json:"items"`
		Enum       []string          `json:"enum"`
		Additional *bool             `json:"additionalProperties"`
	}
	var doc struct {
		Name   string `json:"name"`
		Strict bool   `json:"strict"`
		Schema object `json:"schema"`
	}
	if err := json.Unmarshal(answerSchema, &doc); err != nil || doc.Name == "" || !doc.Strict {
		t.Fatalf("answer.schema.json: %v (%+v)", err, doc)
	}
	check := func(path string, o object, typ reflect.Type) {
		t.Helper()
		var fields []string
		for i := range typ.NumField() {
			fields = append(fields, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
		}
		var props []string
		for k := range o.Properties {
			props = append(props, k)
		}
		slices.Sort(fields)
		slices.Sort(props)
		req := slices.Sorted(slices.Values(o.Required))
		if o.Type != "object" || o.Additional == nil || *o.Additional || !slices.Equal(props, fields) || !slices.Equal(req, fields) {
			t.Errorf("%s: schema properties %v required %v, want exactly %v, closed", path, props, req, fields)
		}
	}
	s := doc.Schema
	check("answer", s, reflect.TypeFor[answer]())
	check("claims[]", *s.Properties["claims"].Items, reflect.TypeFor[answerClaim]())
	check("edges[]", *s.Properties["edges"].Items, reflect.TypeFor[answerEdge]())
	check("evidence[]", *s.Properties["evidence"].Items, reflect.TypeFor[answerExcerpt]())
	var rels []string
	for _, r := range sno.Relations {
		rels = append(rels, string(r))
	}
	if got := s.Properties["edges"].Items.Properties["relation"].Enum; !slices.Equal(got, rels) {
		t.Errorf("relation enum = %v, want %v", got, rels)
	}
}

// FuzzAnswer: no answer makes toSNO panic, and every answer it accepts
// is a valid SNO within the bounds.
func FuzzAnswer(f *testing.F) {
	f.Add(valid)
	f.Add(`{"hypothesis": "H.", "claims": [{"id": "a", "text": "A."}], "edges": [{"from": "a", "to": "a", "relation": "IMPLIES", "strength": 0}], "evidence": []}`)
	f.Add(`{"hypothesis": "H.", "claims": [], "edges": [], "evidence": [{"excerpt": "x", "citation": "[1]"}]} {}`)
	f.Fuzz(func(t *testing.T, content string) {
		s, _, err := toSNO([]byte(content), llmDoc, 5)
		if err != nil {
			if !errors.Is(err, ErrInvalidAnswer) {
				t.Fatalf("error %v is not an invalid answer", err)
			}
			return
		}
		s.ID = "x"
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted an invalid SNO: %v", err)
		}
		if len(s.Graph.Nodes) > 6 || len(s.Graph.Edges) > 5*maxEdgesPerArg || len(s.Evidence) > maxEvidence {
			t.Fatalf("accepted an SNO over the bounds: %d nodes, %d edges, %d evidence", len(s.Graph.Nodes), len(s.Graph.Edges), len(s.Evidence))
		}
	})
}
