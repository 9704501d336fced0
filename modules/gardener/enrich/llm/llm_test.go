package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	chat "contextworker/internal/llm"
	"contextworker/internal/llm/llmtest"
	"contextworker/modules/gardener/enrich"
)

// chatServer speaks the chat-completions API (llmtest). reply decides
// each answer from the request number (from 1) and the batch sent; a
// request other than the enricher's fails the test.
type chatServer struct{ *llmtest.Server }

type reply struct {
	status     int
	retryAfter string
	content    string // the message content; ignored unless status is 200
}

func newChatServer(t *testing.T, answer func(n int, batch []item) reply) *chatServer {
	t.Helper()
	return &chatServer{llmtest.New(t, "/v1/chat/completions", func(n int, r llmtest.Request) llmtest.Reply {
		batch, err := batchOf(r)
		if err != nil {
			t.Errorf("bad request: %v: %s", err, r.Body)
			return llmtest.Reply{Status: http.StatusBadRequest, Body: "bad request"}
		}
		rep := answer(n+1, batch)
		if rep.status != http.StatusOK {
			return llmtest.Reply{Status: rep.status, RetryAfter: rep.retryAfter, Body: "nope"}
		}
		return llmtest.Reply{Content: rep.content}
	})}
}

// batchOf is the batch of products a request of the enricher sends.
func batchOf(r llmtest.Request) ([]item, error) {
	var req chatRequest
	if err := json.Unmarshal(r.Body, &req); err != nil {
		return nil, err
	}
	if len(req.Messages) != 2 || req.ResponseFormat.Type != "json_object" || req.Model != "test-model" {
		return nil, errors.New("not the enricher's request")
	}
	var batch []item
	if err := json.Unmarshal([]byte(req.Messages[1].Content), &batch); err != nil {
		return nil, fmt.Errorf("user content: %w", err)
	}
	return batch, nil
}

// requests is how many requests the server received.
func (s *chatServer) requests() int { return len(s.Requests()) }

// batches are the batches the requests sent.
func (s *chatServer) batches(t *testing.T) [][]item {
	t.Helper()
	var out [][]item
	for _, r := range s.Requests() {
		b, err := batchOf(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// goodAnswer answers every product of batch with a colour and a material.
func goodAnswer(batch []item) string {
	items := make([]string, len(batch))
	for i, it := range batch {
		items[i] = fmt.Sprintf(`{"sku": %q, "fields": {"color": "red %s", "material": " steel "}}`, it.SKU, it.SKU)
	}
	return `{"items": [` + strings.Join(items, ",") + `]}`
}

func ok(content string) reply { return reply{status: http.StatusOK, content: content} }

// mapCache is an enrich.Cache in memory.
type mapCache struct {
	mu   sync.Mutex
	m    map[string]json.RawMessage
	puts int
}

func (c *mapCache) Get(_ context.Context, keys []string) (map[string]json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]json.RawMessage)
	for _, k := range keys {
		if v, ok := c.m[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (c *mapCache) Put(_ context.Context, answers map[string]json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]json.RawMessage)
	}
	for k, v := range answers {
		if _, dup := c.m[k]; !dup {
			c.m[k] = v
			c.puts++
		}
	}
	return nil
}

// countingLimiter wraps the enricher's limiter and counts waits.
type countingLimiter struct {
	w chat.Waiter
	n atomic.Int64
}

func (c *countingLimiter) Wait(ctx context.Context) error {
	c.n.Add(1)
	return c.w.Wait(ctx)
}

type fixture struct {
	e       *Enricher
	cache   *mapCache
	limiter *countingLimiter
	waits   []time.Duration
}

func newFixture(t *testing.T, url string, edit func(*Config)) *fixture {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URL, cfg.Model = url+"/v1/chat/completions", "test-model"
	cfg.APIKey.Env = "LLM_API_KEY"
	cfg.RequestsPerSecond, cfg.Burst = 1000, 100 // fast; the limiter's use is asserted, not its timing
	if edit != nil {
		edit(&cfg)
	}
	f := &fixture{cache: &mapCache{}}
	env := func(k string) (string, bool) {
		return map[string]string{"LLM_API_KEY": "sk-test"}[k], k == "LLM_API_KEY"
	}
	e, err := Build(cfg, enrich.Deps{Cache: f.cache, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	f.limiter = &countingLimiter{w: e.client.Limiter}
	e.client.Limiter = f.limiter
	e.client.Sleep = func(ctx context.Context, d time.Duration) error { f.waits = append(f.waits, d); return ctx.Err() }
	e.client.Jitter = func(time.Duration) time.Duration { return 0 }
	f.e = e
	return f
}

func products(n int) []*enrich.Product {
	ps := make([]*enrich.Product, n)
	for i := range ps {
		ps[i] = &enrich.Product{SupplierCode: "s1", SKU: fmt.Sprintf("P%d", i+1), Name: fmt.Sprintf("Hammer %d", i+1),
			Brand: "Acme", Description: "A hammer.", CategoryPath: []string{"Tools", "Hammers"}, Changed: true}
	}
	return ps
}

// run runs the enricher as a pipeline step and returns the tallies.
func (f *fixture) run(t *testing.T, batch []*enrich.Product) map[enrich.Tally]int64 {
	t.Helper()
	p := enrich.NewPipeline(enrich.Step{Name: Name, Version: "1+test", Enricher: f.e})
	out, err := p.Run(context.Background(), enrich.Run{}, batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out.Tallies
}

func fields(p *enrich.Product) map[string]string {
	m := make(map[string]string)
	for _, r := range p.Results() {
		var v string
		_ = json.Unmarshal(r.Value, &v)
		m[r.Field] = v + " (" + r.Enricher + " " + r.Version + ")"
	}
	return m
}

func TestHappyPath(t *testing.T) {
	s := newChatServer(t, func(_ int, b []item) reply { return ok(goodAnswer(b)) })
	f := newFixture(t, s.URL, nil)
	ps := products(2)
	f.run(t, ps)
	got := fields(ps[1])
	want := map[string]string{"llm_color": "red P2 (llm 1+test)", "llm_material": "steel (llm 1+test)"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fields = %v, want %v", got, want)
	}
	if s.Requests()[0].Auth != "Bearer sk-test" {
		t.Fatalf("Authorization = %q", s.Requests()[0].Auth)
	}
	if b := s.batches(t)[0][0]; b.Category != "Tools > Hammers" || b.Brand != "Acme" || b.Name != "Hammer 1" {
		t.Fatalf("sent %+v", b)
	}
	if f.cache.puts != 2 {
		t.Fatalf("cache puts = %d, want 2", f.cache.puts)
	}
}

func TestInvalidItemsRejected(t *testing.T) {
	long := strings.Repeat("x", maxValueRunes+1)
	tests := []struct {
		name, item, reason string
	}{
		{name: "unknown sku", item: `{"sku": "NOPE", "fields": {"color": "red"}}`, reason: "unknown sku"},
		{name: "extra key", item: `{"sku": "P1", "fields": {"color": "red"}, "note": "hi"}`, reason: "malformed item"},
		{name: "field not allowed", item: `{"sku": "P1", "fields": {"price": "3"}}`, reason: "field not allowed"},
		{name: "too long", item: `{"sku": "P1", "fields": {"color": "` + long + `"}}`, reason: "value too long"},
		{name: "empty value", item: `{"sku": "P1", "fields": {"color": "  "}}`, reason: "empty value"},
		{name: "not a string", item: `{"sku": "P1", "fields": {"color": 3}}`, reason: "malformed item"},
		{name: "no fields", item: `{"sku": "P1", "fields": {}}`, reason: "no fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// P2 is answered validly beside the invalid item: only the
			// invalid item is rejected.
			s := newChatServer(t, func(int, []item) reply {
				return ok(`{"items": [` + tt.item + `, {"sku": "P2", "fields": {"color": "blue"}}]}`)
			})
			f := newFixture(t, s.URL, nil)
			ps := products(2)
			tallies := f.run(t, ps)
			if tallies[enrich.Tally{Name: TallyRejected, Key: tt.reason}] != 1 {
				t.Fatalf("tallies %v, want one %q", tallies, tt.reason)
			}
			if len(ps[0].Results()) != 0 {
				t.Fatalf("P1 got %v", fields(ps[0]))
			}
			if fields(ps[1])["llm_color"] == "" || f.cache.puts != 1 {
				t.Fatalf("P2 got %v, cache puts %d", fields(ps[1]), f.cache.puts)
			}
		})
	}
}

func TestMalformedAnswerRetriedOnceThenGivenUp(t *testing.T) {
	tests := []struct{ name, content string }{
		{name: "not JSON", content: `{"items": [`},
		{name: "extra top-level key", content: `{"items": [], "comment": "x"}`},
		{name: "array", content: `[{"sku": "P1", "fields": {"color": "red"}}]`},
		{name: "trailing data", content: `{"items": []} {}`},
		{name: "empty", content: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newChatServer(t, func(int, []item) reply { return ok(tt.content) })
			f := newFixture(t, s.URL, nil)
			ps := products(1)
			ps[0].Stored = map[string]json.RawMessage{"llm_color": []byte(`"green"`)}
			tallies := f.run(t, ps)
			if n := s.requests(); n != 2 {
				t.Fatalf("requests = %d, want 2 (one retry)", n)
			}
			if tallies[enrich.Tally{Name: TallyGaveUp, Key: "invalid answers"}] != 1 || f.cache.puts != 0 {
				t.Fatalf("tallies %v, cache puts %d", tallies, f.cache.puts)
			}
			// The stored answer is kept, not removed.
			if got := fields(ps[0]); len(got) != 1 || !strings.HasPrefix(got["llm_color"], "green") {
				t.Fatalf("fields = %v", got)
			}
		})
	}
}

func TestRetryAfter429(t *testing.T) {
	s := newChatServer(t, func(n int, b []item) reply {
		if n == 1 {
			return reply{status: http.StatusTooManyRequests, retryAfter: "7"}
		}
		return ok(goodAnswer(b))
	})
	f := newFixture(t, s.URL, nil)
	ps := products(1)
	f.run(t, ps)
	if s.requests() != 2 || len(f.waits) != 1 || f.waits[0] != 7*time.Second {
		t.Fatalf("requests %d, waits %v; want 2 requests after a 7s wait", s.requests(), f.waits)
	}
	if fields(ps[0])["llm_color"] == "" {
		t.Fatalf("no answer after retry: %v", fields(ps[0]))
	}
}

func TestServerErrorsGiveUp(t *testing.T) {
	s := newChatServer(t, func(int, []item) reply { return reply{status: http.StatusInternalServerError} })
	f := newFixture(t, s.URL, func(c *Config) { c.MaxRetries = 3; c.MinBackoff = time.Second; c.MaxBackoff = 3 * time.Second })
	ps := products(3)
	tallies := f.run(t, ps)
	if s.requests() != 4 {
		t.Fatalf("requests = %d, want 4 (1 + 3 retries)", s.requests())
	}
	// Exponential, capped; jitter is zero here, so each wait is half the step.
	if fmt.Sprint(f.waits) != "[500ms 1s 1.5s]" {
		t.Fatalf("waits = %v", f.waits)
	}
	for _, p := range ps {
		if len(p.Results()) != 0 {
			t.Fatalf("%s got %v", p.SKU, fields(p))
		}
	}
	if tallies[enrich.Tally{Name: TallyGaveUp, Key: "request failed"}] != 1 || tallies[enrich.Tally{Name: TallyGaveUp, Key: "unanswered"}] != 3 {
		t.Fatalf("tallies %v", tallies)
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr string
	}{
		{name: "bad request gives up without retry", status: http.StatusBadRequest},
		{name: "unauthorized fails the run", status: http.StatusUnauthorized, wantErr: "check api_key env:LLM_API_KEY"},
		{name: "not found fails the run", status: http.StatusNotFound, wantErr: "check url and model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newChatServer(t, func(int, []item) reply { return reply{status: tt.status} })
			f := newFixture(t, s.URL, nil)
			p := enrich.NewPipeline(enrich.Step{Name: Name, Version: "1", Enricher: f.e})
			_, err := p.Run(context.Background(), enrich.Run{}, products(1), nil)
			if s.requests() != 1 {
				t.Fatalf("requests = %d, want 1", s.requests())
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCacheHitNotSentAgain(t *testing.T) {
	s := newChatServer(t, func(_ int, b []item) reply { return ok(goodAnswer(b)) })
	f := newFixture(t, s.URL, nil)
	f.run(t, products(2))
	again := products(3)  // P1 and P2 unchanged, P3 new
	again[0].Price = 9.99 // not sent to the model: still a hit
	tallies := f.run(t, again)
	if batches := s.batches(t); len(batches) != 2 || len(batches[1]) != 1 || batches[1][0].SKU != "P3" {
		t.Fatalf("batches %+v; want a second one of P3 alone", batches)
	}
	if tallies[enrich.Tally{Name: TallyCache, Key: "hit"}] != 2 || fields(again[0])["llm_color"] == "" {
		t.Fatalf("tallies %v, P1 %v", tallies, fields(again[0]))
	}
	changed := products(1)
	changed[0].Description = "A heavier hammer."
	f.run(t, changed)
	if s.requests() != 3 {
		t.Fatalf("changed product not sent: requests = %d", s.requests())
	}
}

func TestBatching(t *testing.T) {
	for _, tt := range []struct{ products, size, want int }{{45, 20, 3}, {20, 20, 1}, {1, 20, 1}, {7, 1, 7}} {
		t.Run(fmt.Sprintf("%d by %d", tt.products, tt.size), func(t *testing.T) {
			s := newChatServer(t, func(_ int, b []item) reply { return ok(goodAnswer(b)) })
			f := newFixture(t, s.URL, func(c *Config) { c.BatchSize = tt.size })
			ps := products(tt.products)
			f.run(t, ps)
			if int(s.requests()) != tt.want {
				t.Fatalf("requests = %d, want %d", s.requests(), tt.want)
			}
			for _, p := range ps {
				if fields(p)["llm_color"] == "" {
					t.Fatalf("%s unanswered", p.SKU)
				}
			}
		})
	}
}

func TestSameSKUOfTwoSuppliersInSeparateRequests(t *testing.T) {
	s := newChatServer(t, func(_ int, b []item) reply { return ok(goodAnswer(b)) })
	f := newFixture(t, s.URL, nil)
	ps := products(2)
	ps[1].SupplierCode, ps[1].SKU = "s2", "P1"
	f.run(t, ps)
	if s.requests() != 2 || len(ps[0].Results()) == 0 || len(ps[1].Results()) == 0 {
		t.Fatalf("requests %d; %v %v", s.requests(), fields(ps[0]), fields(ps[1]))
	}
}

func TestRateLimiterUsedOnEveryAttempt(t *testing.T) {
	s := newChatServer(t, func(n int, b []item) reply {
		if n == 1 {
			return reply{status: http.StatusServiceUnavailable}
		}
		return ok(goodAnswer(b))
	})
	f := newFixture(t, s.URL, func(c *Config) { c.BatchSize = 2 })
	f.run(t, products(4))
	if got := f.limiter.n.Load(); got != int64(s.requests()) || got != 3 {
		t.Fatalf("limiter waits %d, requests %d; want 3 each", got, s.requests())
	}
}

func TestCancellation(t *testing.T) {
	s := newChatServer(t, func(int, []item) reply { return reply{status: http.StatusInternalServerError} })
	f := newFixture(t, s.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	f.e.client.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	p := enrich.NewPipeline(enrich.Step{Name: Name, Version: "1", Enricher: f.e})
	if _, err := p.Run(ctx, enrich.Run{}, products(1), nil); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v, want cancellation", err)
	}
}

func TestConfig(t *testing.T) {
	r := enrich.NewRegistry()
	if err := r.Register(Name, Version, New); err != nil {
		t.Fatal(err)
	}
	build := func(src string) (*enrich.Pipeline, error) {
		var specs []enrich.Spec
		if err := yaml.Unmarshal([]byte(src), &specs); err != nil {
			t.Fatal(err)
		}
		return r.Build(specs, enrich.Deps{})
	}
	base := "- name: llm\n  config:\n    url: http://127.0.0.1:8000/v1/chat/completions\n    api_key: env:LLM_API_KEY\n"
	tests := []struct{ name, src, wantErr string }{
		{name: "ok", src: base + "    model: m\n"},
		{name: "no model", src: base, wantErr: "model: must not be empty"},
		{name: "unknown key", src: base + "    model: m\n    modle: x\n", wantErr: "field modle not found"},
		{name: "literal key", src: "- name: llm\n  config: {url: 'http://x/v1', model: m, api_key: sk-123456}", wantErr: "is not a reference"},
		{name: "bad field", src: base + "    model: m\n    fields: [Color]\n", wantErr: `fields[0]: "Color" must match`},
		{name: "bad url", src: "- name: llm\n  config: {url: 'x', model: m}", wantErr: `url: "x" must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(tt.src)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Build = %v, want %q", err, tt.wantErr)
			}
		})
	}

	version := func(src string) string {
		p, err := build(src)
		if err != nil {
			t.Fatal(err)
		}
		return p.Steps()[0].Version
	}
	v := version(base + "    model: m\n")
	if v == version(base+"    model: m2\n") || v == version(base+"    model: m\n    fields: [color]\n") {
		t.Fatal("model or fields changed, version kept")
	}
	if v != version("- name: llm\n  config: {url: 'http://other/v1/chat/completions', model: m, batch_size: 5, requests_per_second: 9, timeout: 5s}") {
		t.Fatal("operational settings changed the version")
	}
}

// chatRequest is the wire form of a chat-completions request, as the
// test server reads it.
type chatRequest struct {
	Model          string              `json:"model"`
	Messages       []chat.Message      `json:"messages"`
	ResponseFormat chat.ResponseFormat `json:"response_format"`
}
