package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"contextworker/internal/secret"
)

// server is a local chat-completions server answering with the replies
// of its script in turn (the last one repeats).
type server struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []chatRequest
	raw    [][]byte
	auth   []string
}

type reply struct {
	status     int
	body       string
	retryAfter string
}

func content(s string) string {
	b, _ := json.Marshal(map[string]any{"id": "x", "choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": s}}}})
	return string(b)
}

func newServer(t *testing.T, script ...reply) *server {
	t.Helper()
	s := &server{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req chatRequest
		if r.Method != http.MethodPost || json.Unmarshal(b, &req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		n := len(s.bodies)
		s.bodies = append(s.bodies, req)
		s.raw = append(s.raw, b)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		rep := script[min(n, len(script)-1)]
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		if rep.status != 0 {
			w.WriteHeader(rep.status)
		}
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

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
		script   []reply
		want     string
		wantErr  string
		requests int
		waits    []time.Duration
	}{
		{name: "ok", script: []reply{{body: content(`{"a":1}`)}}, want: `{"a":1}`, requests: 1},
		{name: "5xx then ok backs off", script: []reply{{status: 503}, {status: 500}, {body: content("x")}},
			want: "x", requests: 3, waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "429 honours retry-after capped", script: []reply{{status: 429, retryAfter: "60"}, {body: content("y")}},
			want: "y", requests: 2, waits: []time.Duration{10 * time.Second}},
		{name: "retry budget spent", script: []reply{{status: 502}}, wantErr: "after 3 attempts: HTTP 502", requests: 3,
			waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "401 not retried", script: []reply{{status: 401}}, wantErr: "after 1 attempts: HTTP 401", requests: 1},
		{name: "not json not retried", script: []reply{{body: "<html>"}}, wantErr: ErrBadBody.Error(), requests: 1},
		{name: "no choices", script: []reply{{body: `{"choices":[]}`}}, wantErr: "no choices", requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.script...)
			c, waits := newClient(t, testConfig(s.srv.URL), nil)
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
	s := newServer(t, reply{body: content("ok")})
	cfg := testConfig(s.srv.URL)
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
	got := s.bodies[0]
	if got.Model != "m" || len(got.Messages) != 2 || got.ResponseFormat.Type != "json_schema" || string(got.ResponseFormat.JSONSchema) != string(schema) {
		t.Errorf("request = %+v", got)
	}
	if s.auth[0] != "Bearer sekrit" {
		t.Errorf("Authorization = %q", s.auth[0])
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
	s := newServer(t, reply{body: content(strings.Repeat("a", 5000))})
	cfg := testConfig(s.srv.URL)
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
