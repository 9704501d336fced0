package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"contextworker/internal/llm/llmtest"
	"contextworker/internal/secret"
)

// server is a local chat-completions server (llmtest) answering with
// the replies of its script in turn (the last one repeats).
type server struct{ *llmtest.Server }

func newServer(t *testing.T, script ...llmtest.Reply) *server {
	t.Helper()
	return &server{llmtest.New(t, "/", llmtest.Script(script...))}
}

func (s *server) requests() int { return len(s.Requests()) }

func testConfig(url string) Config {
	return Config{URL: url, Model: "m", Timeout: 5 * time.Second, MaxRetries: 2,
		MinBackoff: time.Second, MaxBackoff: 10 * time.Second, RequestsPerSecond: 1000, Burst: 10}
}

// newClient returns a client whose waits are recorded, not slept.
func newClient(t *testing.T, cfg Config, env secret.Lookup) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := New(cfg, nil, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	c.Jitter = func(time.Duration) time.Duration { return 0 }
	return c, &waits
}

func TestChat(t *testing.T) {
	hello := Request{Messages: []Message{{Role: "user", Content: "hi"}}, ResponseFormat: ResponseFormat{Type: "json_object"}}
	tests := []struct {
		name     string
		script   []llmtest.Reply
		want     string
		wantErr  string
		requests int
		waits    []time.Duration
	}{
		{name: "ok", script: []llmtest.Reply{{Body: llmtest.Completion(`{"a":1}`)}}, want: `{"a":1}`, requests: 1},
		{name: "5xx then ok backs off", script: []llmtest.Reply{{Status: 503}, {Status: 500}, {Body: llmtest.Completion("x")}},
			want: "x", requests: 3, waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "429 honours retry-after capped", script: []llmtest.Reply{{Status: 429, RetryAfter: "60"}, {Body: llmtest.Completion("y")}},
			want: "y", requests: 2, waits: []time.Duration{10 * time.Second}},
		{name: "retry budget spent", script: []llmtest.Reply{{Status: 502}}, wantErr: "after 3 attempts: HTTP 502", requests: 3,
			waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "401 not retried", script: []llmtest.Reply{{Status: 401}}, wantErr: "after 1 attempts: HTTP 401", requests: 1},
		{name: "not json not retried", script: []llmtest.Reply{{Body: "<html>"}}, wantErr: ErrBadBody.Error(), requests: 1},
		{name: "no choices", script: []llmtest.Reply{{Body: `{"choices":[]}`}}, wantErr: "no choices", requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.script...)
			c, waits := newClient(t, testConfig(s.URL), nil)
			got, err := c.Chat(context.Background(), "", hello)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Chat = %q, %v; want %q", got, err, tt.want)
			}
			if s.requests() != tt.requests {
				t.Errorf("requests = %d, want %d", s.requests(), tt.requests)
			}
			if len(*waits) != len(tt.waits) {
				t.Fatalf("waits = %v, want %v", *waits, tt.waits)
			}
			for i := range tt.waits {
				if (*waits)[i] != tt.waits[i] {
					t.Errorf("waits = %v, want %v", *waits, tt.waits)
				}
			}
		})
	}
}

func TestChatSendsRequestAndKey(t *testing.T) {
	s := newServer(t, llmtest.Reply{Body: llmtest.Completion("ok")})
	cfg := testConfig(s.URL)
	cfg.APIKey = secret.Env("LLM_KEY")
	c, _ := newClient(t, cfg, func(k string) (string, bool) { return map[string]string{"LLM_KEY": "sekrit"}[k], k == "LLM_KEY" })
	key, err := c.Key()
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	schema := json.RawMessage(`{"name":"plan","strict":true,"schema":{"type":"object"}}`)
	if _, err := c.Chat(context.Background(), key, Request{Messages: []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}},
		ResponseFormat: ResponseFormat{Type: "json_schema", JSONSchema: schema}}); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	got := llmtest.Decode[chatRequest](t, s.Requests())[0]
	if got.Model != "m" || len(got.Messages) != 2 || got.ResponseFormat.Type != "json_schema" || string(got.ResponseFormat.JSONSchema) != string(schema) {
		t.Errorf("request = %+v", got)
	}
	if s.Requests()[0].Auth != "Bearer sekrit" {
		t.Errorf("Authorization = %q", s.Requests()[0].Auth)
	}
}

func TestKeyMissing(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1/v1/chat/completions")
	cfg.APIKey = secret.Env("NOPE_KEY")
	c, _ := newClient(t, cfg, func(string) (string, bool) { return "", false })
	if _, err := c.Key(); err == nil || !strings.Contains(err.Error(), "llm: api_key") {
		t.Fatalf("Key = %v, want an api_key error", err)
	}
}

// TestResponseBound: a response larger than MaxResponseBytes is refused,
// not read whole, and not retried.
func TestResponseBound(t *testing.T) {
	s := newServer(t, llmtest.Reply{Body: llmtest.Completion(strings.Repeat("a", 5000))})
	cfg := testConfig(s.URL)
	cfg.MaxResponseBytes = 1024
	c, _ := newClient(t, cfg, nil)
	_, err := c.Chat(context.Background(), "", Request{Messages: []Message{{Role: "user", Content: "hi"}}})
	if !errors.Is(err, ErrBadBody) || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("err = %v, want the bound", err)
	}
	if s.requests() != 1 {
		t.Errorf("requests = %d, want 1", s.requests())
	}
}

// TestTimeout: an attempt slower than Timeout fails and is retried.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg := testConfig(srv.URL)
	cfg.Timeout, cfg.MaxRetries = 50*time.Millisecond, 1
	c, waits := newClient(t, cfg, nil)
	_, err := c.Chat(context.Background(), "", Request{Messages: []Message{{Role: "user", Content: "hi"}}})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Fatalf("err = %v, want a deadline after 2 attempts", err)
	}
	if len(*waits) != 1 {
		t.Errorf("waits = %v, want one backoff", *waits)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{URL: "ftp://x", MaxRetries: 11, MinBackoff: 2, MaxBackoff: 1, MaxResponseBytes: -1}.Validate()
	for _, want := range []string{"url:", "model:", "timeout:", "max_retries:", "min_backoff:", "requests_per_second:", "burst:", "max_response_bytes:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	if err := testConfig("http://127.0.0.1:8000/v1/chat/completions").Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestHint(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1/v1/chat/completions")
	cfg.APIKey = secret.Env("LLM_KEY")
	c, _ := newClient(t, cfg, func(k string) (string, bool) { return "sekrit", k == "LLM_KEY" })
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"401 names the key's reference", fmt.Errorf("post: %w", &StatusError{Code: http.StatusUnauthorized}), "check api_key env:LLM_KEY"},
		{"403 too", &StatusError{Code: http.StatusForbidden}, "check api_key env:LLM_KEY"},
		{"404 names url and model", &StatusError{Code: http.StatusNotFound}, `check url and model "m"`},
		{"a 500 passes", &StatusError{Code: http.StatusInternalServerError}, ""},
		{"not an HTTP status", errors.New("connection refused"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Hint(tt.err)
			if got != tt.want || strings.Contains(got, "sekrit") {
				t.Errorf("Hint = %q, want %q", got, tt.want)
			}
		})
	}
}
