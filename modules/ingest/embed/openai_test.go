package embed

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"contextworker/internal/llm"
	"contextworker/internal/llm/llmtest"
	"contextworker/internal/secret"
)

// embeddingsServer is a local /embeddings server (llmtest). Each input's
// vector is vectorOf(input, dims); fail answers the first requests with a
// status.
type embeddingsServer struct{ *llmtest.Server }

type embeddingsRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions"`
}

// vectorOf is the fake model: a vector of n numbers drawn from s, not
// normalised (each number is the byte sum of s plus its index, so the
// norm is far from 1).
func vectorOf(s string, n int) []float64 {
	v := make([]float64, n)
	var sum float64
	for _, b := range []byte(s) {
		sum += float64(b)
	}
	for i := range v {
		v[i] = sum + float64(i)
	}
	return v
}

func newEmbeddingsServer(t *testing.T, dims int, fail ...int) *embeddingsServer {
	t.Helper()
	return &embeddingsServer{llmtest.New(t, "/v1/embeddings", func(n int, r llmtest.Request) llmtest.Reply {
		if n < len(fail) {
			return llmtest.Reply{Status: fail[n]}
		}
		var req embeddingsRequest
		if err := json.Unmarshal(r.Body, &req); err != nil {
			return llmtest.Reply{Status: http.StatusBadRequest, Body: "bad request"}
		}
		var data []any
		for i, in := range req.Input {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": vectorOf(in, dims)})
		}
		b, _ := json.Marshal(map[string]any{"object": "list", "data": data})
		return llmtest.Reply{Body: string(b)}
	})}
}

func (s *embeddingsServer) requests(t *testing.T) []embeddingsRequest {
	t.Helper()
	return llmtest.Decode[embeddingsRequest](t, s.Requests())
}

func newOpenAI(t *testing.T, s *embeddingsServer, dims int, mod func(*llm.Config)) *OpenAI {
	t.Helper()
	cfg := llm.DefaultConfig()
	cfg.URL, cfg.Model, cfg.RequestsPerSecond, cfg.Burst, cfg.Timeout = s.URL+"/v1/embeddings", "fake-embed", 1000, 10, 5*time.Second
	cfg.APIKey = secret.Env("FAKE_KEY")
	if mod != nil {
		mod(&cfg)
	}
	c, err := llm.New(cfg, nil, func(k string) (string, bool) { return "sk-test", k == "FAKE_KEY" })
	if err != nil {
		t.Fatal(err)
	}
	c.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return &OpenAI{Client: c, Dimensions: dims}
}

func TestOpenAIEmbed(t *testing.T) {
	s := newEmbeddingsServer(t, 8)
	o := newOpenAI(t, s, 8, nil)
	o.BatchSize, o.SendDimensions = 2, true
	texts := []string{"alpha", "beta", "  ", "gamma", "delta"}
	got, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name() != "openai:fake-embed:8" {
		t.Errorf("Name = %q", o.Name())
	}
	for i, v := range got {
		if len(v) != 8 {
			t.Fatalf("vector %d has %d numbers, want 8", i, len(v))
		}
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		switch {
		case strings.TrimSpace(texts[i]) == "":
			if norm != 0 {
				t.Errorf("blank text %d: norm² %v, want the zero vector", i, norm)
			}
		case math.Abs(norm-1) > 1e-5:
			t.Errorf("vector %d: norm² %v, want 1", i, norm)
		default:
			want := vectorOf(texts[i], 8)
			if r := float64(v[7]) / float64(v[0]); math.Abs(r-want[7]/want[0]) > 1e-5 {
				t.Errorf("vector %d is not the server's, scaled: ratio %v, want %v", i, r, want[7]/want[0])
			}
		}
	}
	// Batches of two, the blank text not sent, in order.
	reqs := s.requests(t)
	var inputs [][]string
	for _, r := range reqs {
		inputs = append(inputs, r.Input)
		if r.Model != "fake-embed" || r.Dimensions != 8 {
			t.Errorf("request %+v, want model fake-embed and dimensions 8", r)
		}
	}
	if want := [][]string{{"alpha", "beta"}, {"gamma", "delta"}}; !slices.EqualFunc(inputs, want, slices.Equal) {
		t.Errorf("batches %q, want %q", inputs, want)
	}
	if s.Requests()[0].Auth != "Bearer sk-test" {
		t.Errorf("Authorization = %q", s.Requests()[0].Auth)
	}
}

func TestOpenAIFailures(t *testing.T) {
	tests := []struct {
		name      string
		serverDim int
		fail      []int
		maxResp   int64
		wantErr   string
		is        error
		requests  int
	}{
		{name: "5xx retried", serverDim: 4, fail: []int{503, 500}, requests: 3},
		{name: "outage", serverDim: 4, fail: []int{500, 500, 500, 500}, wantErr: "after 4 attempts: HTTP 500", requests: 4},
		{name: "401 hints at the key", serverDim: 4, fail: []int{401}, wantErr: "check api_key env:FAKE_KEY", requests: 1},
		{name: "dimension mismatch", serverDim: 6, wantErr: "openai:fake-embed:4: embedding of the wrong dimension: got 6 numbers, want 4", is: ErrDimension, requests: 1},
		{name: "oversize response bounded", serverDim: 4000, maxResp: 8192, wantErr: "larger than 8192 bytes", is: llm.ErrTooLarge, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newEmbeddingsServer(t, tt.serverDim, tt.fail...)
			o := newOpenAI(t, s, 4, func(c *llm.Config) { c.MaxResponseBytes = tt.maxResp })
			got, err := o.Embed(context.Background(), []string{"one", "two"})
			if tt.wantErr == "" {
				if err != nil || len(got) != 2 || len(got[0]) != 4 {
					t.Fatalf("Embed = %v, %v", got, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "sk-test") || strings.Contains(err.Error(), "one")) {
				t.Errorf("err = %v quotes the key or a text", err)
			}
			if n := len(s.requests(t)); n != tt.requests {
				t.Errorf("requests = %d, want %d", n, tt.requests)
			}
		})
	}
}

// TestOpenAIInputBound: a text over MaxInputBytes is cut at a rune
// boundary before it is sent.
func TestOpenAIInputBound(t *testing.T) {
	s := newEmbeddingsServer(t, 4)
	o := newOpenAI(t, s, 4, nil)
	o.MaxInputBytes = 5
	if _, err := o.Embed(context.Background(), []string{"ééé"}); err != nil { // 6 bytes
		t.Fatal(err)
	}
	if got := s.requests(t)[0].Input[0]; got != "éé" {
		t.Fatalf("sent %q, want %q", got, "éé")
	}
}

func TestNormalise64(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []float64
		want []float32
	}{
		{"scaled", []float64{3, 4}, []float32{0.6, 0.8}},
		{"huge numbers do not overflow", []float64{3e300, 4e300}, []float32{0.6, 0.8}},
		{"zero stays zero", []float64{0, 0}, []float32{0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := normalise64(tt.in)
			for i := range got {
				if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
					t.Fatalf("normalise64(%v) = %v, want %v", tt.in, got, tt.want)
				}
			}
		})
	}
}
