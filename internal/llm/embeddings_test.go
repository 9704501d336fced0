package llm

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"contextworker/internal/llm/llmtest"
)

// vectors is an /embeddings response body.
func vectors(data ...any) string {
	b, _ := json.Marshal(map[string]any{"object": "list", "model": "m", "data": data, "usage": map[string]int{"total_tokens": 3}})
	return string(b)
}

func vec(index int, v ...float64) map[string]any {
	return map[string]any{"object": "embedding", "index": index, "embedding": v}
}

func TestEmbeddings(t *testing.T) {
	tests := []struct {
		name     string
		script   []llmtest.Reply
		want     [][]float64
		wantErr  string
		requests int
		waits    []time.Duration
	}{
		{name: "ok", script: []llmtest.Reply{{Body: vectors(vec(0, 1, 0), vec(1, 0, 1))}}, want: [][]float64{{1, 0}, {0, 1}}, requests: 1},
		{name: "answered out of order", script: []llmtest.Reply{{Body: vectors(vec(1, 0, 1), vec(0, 1, 0))}}, want: [][]float64{{1, 0}, {0, 1}}, requests: 1},
		{name: "index omitted means in order", script: []llmtest.Reply{{Body: `{"data":[{"embedding":[1,2]},{"embedding":[3,4]}]}`}},
			want: [][]float64{{1, 2}, {3, 4}}, requests: 1},
		{name: "5xx then ok backs off", script: []llmtest.Reply{{Status: 503}, {Body: vectors(vec(0, 1), vec(1, 2))}},
			want: [][]float64{{1}, {2}}, requests: 2, waits: []time.Duration{500 * time.Millisecond}},
		{name: "429 honours retry-after", script: []llmtest.Reply{{Status: 429, RetryAfter: "2"}, {Body: vectors(vec(0, 1), vec(1, 2))}},
			want: [][]float64{{1}, {2}}, requests: 2, waits: []time.Duration{2 * time.Second}},
		{name: "retry budget spent", script: []llmtest.Reply{{Status: 500}}, wantErr: "after 3 attempts: HTTP 500", requests: 3,
			waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "400 not retried", script: []llmtest.Reply{{Status: 400}}, wantErr: "after 1 attempts: HTTP 400", requests: 1},
		{name: "too few vectors", script: []llmtest.Reply{{Body: vectors(vec(0, 1))}}, wantErr: "1 embeddings for 2 inputs", requests: 1},
		{name: "repeated index", script: []llmtest.Reply{{Body: vectors(vec(0, 1), vec(0, 2))}}, wantErr: "out of range or repeated", requests: 1},
		{name: "index out of range", script: []llmtest.Reply{{Body: vectors(vec(0, 1), vec(2, 2))}}, wantErr: "out of range or repeated", requests: 1},
		{name: "empty vector", script: []llmtest.Reply{{Body: vectors(vec(0, 1), vec(1))}}, wantErr: "embedding 1 is empty", requests: 1},
		{name: "not json", script: []llmtest.Reply{{Body: "<html>"}}, wantErr: ErrBadBody.Error(), requests: 1},
		{name: "number out of float range", script: []llmtest.Reply{{Body: `{"data":[{"embedding":[1e400]},{"embedding":[1]}]}`}}, wantErr: ErrBadBody.Error(), requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.script...)
			c, waits := newClient(t, testConfig(s.URL), nil)
			got, err := c.Embeddings(context.Background(), "", EmbeddingsRequest{Input: []string{"a", "b"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("Embeddings = %v, %v; want %v", got, err, tt.want)
			}
			if s.requests() != tt.requests {
				t.Errorf("requests = %d, want %d", s.requests(), tt.requests)
			}
			if !slices.Equal(*waits, tt.waits) {
				t.Errorf("waits = %v, want %v", *waits, tt.waits)
			}
		})
	}
}

// TestEmbeddingsRequest: the body carries the model, the inputs in order,
// float encoding and dimensions only when asked for; the key goes in the
// Authorization header.
func TestEmbeddingsRequest(t *testing.T) {
	for _, dims := range []int{0, 8} {
		s := newServer(t, llmtest.Reply{Body: vectors(vec(0, 1), vec(1, 1))})
		c, _ := newClient(t, testConfig(s.URL), nil)
		if _, err := c.Embeddings(context.Background(), "k", EmbeddingsRequest{Input: []string{"x", "y"}, Dimensions: dims}); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(s.Requests()[0].Body, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"model": "m", "input": []any{"x", "y"}, "encoding_format": "float"}
		if dims > 0 {
			want["dimensions"] = float64(dims)
		}
		if b, w := mustJSON(t, got), mustJSON(t, want); b != w {
			t.Errorf("dims %d: body = %s, want %s", dims, b, w)
		}
		if s.Requests()[0].Auth != "Bearer k" {
			t.Errorf("Authorization = %q", s.Requests()[0].Auth)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEmbeddingsBound: a response over MaxResponseBytes is refused unread
// and not retried.
func TestEmbeddingsBound(t *testing.T) {
	big := make([]float64, 1000)
	s := newServer(t, llmtest.Reply{Body: vectors(vec(0, big...), vec(1, big...))})
	cfg := testConfig(s.URL)
	cfg.MaxResponseBytes = 1024
	c, _ := newClient(t, cfg, nil)
	_, err := c.Embeddings(context.Background(), "", EmbeddingsRequest{Input: []string{"a", "b"}})
	if !errors.Is(err, ErrBadBody) || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 1024 bytes") || s.requests() != 1 {
		t.Fatalf("err = %v after %d requests, want the bound after 1", err, s.requests())
	}
}

func TestEmbeddingsNoInput(t *testing.T) {
	c, _ := newClient(t, testConfig("http://127.0.0.1:1/v1/embeddings"), nil)
	if got, err := c.Embeddings(context.Background(), "", EmbeddingsRequest{}); got != nil || err != nil {
		t.Fatalf("Embeddings(no input) = %v, %v; want nothing and no request", got, err)
	}
}
