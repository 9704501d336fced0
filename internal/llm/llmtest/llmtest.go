// Package llmtest is a local server that speaks the parts of the OpenAI
// API the platform calls (chat completions, embeddings), for tests: it
// answers each request from a function of its number and content, and
// records what it was asked. It never reaches a real service.
package llmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Reply is one answer: a status alone, a body sent as is, or a chat
// completion whose message is Content.
type Reply struct {
	// Status, when not 0, is the HTTP status (with no body unless Body).
	Status int
	// RetryAfter sets the Retry-After header.
	RetryAfter string
	// Body is sent as is when not "".
	Body string
	// Content is the assistant message of a chat completion, sent when
	// Body is "" and Status is 0 or 200.
	Content string
}

// Request is one request the server received.
type Request struct {
	Path, Auth string
	Body       []byte
}

// Answer chooses the reply to the nth request (from 0).
type Answer func(n int, req Request) Reply

// Script answers with replies in turn; the last one repeats.
func Script(replies ...Reply) Answer {
	return func(n int, _ Request) Reply { return replies[min(n, len(replies)-1)] }
}

// Server is a running local server; URL is its base.
type Server struct {
	URL  string
	mu   sync.Mutex
	reqs []Request
}

// New starts a server answering POSTs to path; other methods and paths
// get 400 and are not recorded. It stops when the test ends.
func New(t testing.TB, path string, answer Answer) *Server {
	t.Helper()
	s := &Server{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.URL.Path != path {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		req := Request{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body}
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		rep := answer(n, req)
		if rep.RetryAfter != "" {
			w.Header().Set("Retry-After", rep.RetryAfter)
		}
		if rep.Status != 0 {
			w.WriteHeader(rep.Status)
		}
		switch {
		case rep.Body != "":
			_, _ = io.WriteString(w, rep.Body)
		case rep.Status == 0 || rep.Status == http.StatusOK:
			_, _ = io.WriteString(w, Completion(rep.Content))
		}
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Requests returns what the server received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Decode decodes each request's body as a T; a body that is not one
// fails the test.
func Decode[T any](t testing.TB, reqs []Request) []T {
	t.Helper()
	out := make([]T, len(reqs))
	for i, r := range reqs {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return out
}

// Completion is the body of a chat completion whose message is content.
func Completion(content string) string {
	b, _ := json.Marshal(map[string]any{"id": "x", "choices": []any{
		map[string]any{"message": map[string]string{"role": "assistant", "content": content}}}})
	return string(b)
}
