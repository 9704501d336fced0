// Package llm is the platform's OpenAI-compatible chat-completions client:
// one request with a per-attempt timeout, retries on 429, 5xx, timeouts and
// network errors with capped exponential backoff, jitter and a retry
// budget, a rate limit shared by the client's callers, a bounded response
// body and an API key resolved from a secret ref.
//
// It carries text only: validating what a model answers is the caller's
// job, and it must never log or return the API key, nor read an unbounded
// response.
package llm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"contextworker/internal/secret"
)

// DefaultMaxResponseBytes bounds a response body when Config leaves it 0.
const DefaultMaxResponseBytes = 4 << 20

// Config is the transport's configuration. Callers embed it inline in
// their YAML sections (its keys are the ones below) or map their own onto
// it.
type Config struct {
	// URL is the endpoint, e.g.
	// http://127.0.0.1:8000/v1/chat/completions for Chat, or
	// http://127.0.0.1:8000/v1/embeddings for Embeddings.
	URL string `yaml:"url"`
	// Model is sent as the request's model.
	Model string `yaml:"model"`
	// APIKey is sent as a bearer token; optional for local servers.
	APIKey secret.Ref `yaml:"api_key"`
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is the number of retries after a failed attempt.
	MaxRetries int `yaml:"max_retries"`
	// MinBackoff and MaxBackoff bound the backoff between retries;
	// MaxBackoff also caps a server's Retry-After.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// RequestsPerSecond and Burst configure the client's rate limiter.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
	// MaxResponseBytes bounds a response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
}

// DefaultConfig returns transport defaults for callers' sections to
// start from: URL and Model stay empty, for the operator to set.
func DefaultConfig() Config {
	return Config{Timeout: 30 * time.Second, MaxRetries: 3, MinBackoff: 500 * time.Millisecond,
		MaxBackoff: 30 * time.Second, RequestsPerSecond: 2, Burst: 1}
}

// Validate checks c, joining every problem, each naming its field.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, a...)...))
	}
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "%q must be an http(s) URL of the API endpoint", c.URL)
	}
	if strings.TrimSpace(c.Model) == "" {
		add("model", "must not be empty")
	}
	if !c.APIKey.IsZero() {
		if err := c.APIKey.Validate(); err != nil {
			add("api_key", "%w", err)
		}
	}
	if c.Timeout <= 0 {
		add("timeout", "must be > 0, got %s", c.Timeout)
	}
	if c.MaxRetries < 0 || c.MaxRetries > 10 {
		add("max_retries", "must be 0..10, got %d", c.MaxRetries)
	}
	if c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff {
		add("min_backoff", "must be > 0 and <= max_backoff, got %s and %s", c.MinBackoff, c.MaxBackoff)
	}
	if c.RequestsPerSecond <= 0 {
		add("requests_per_second", "must be > 0, got %g", c.RequestsPerSecond)
	}
	if c.Burst < 1 {
		add("burst", "must be >= 1, got %d", c.Burst)
	}
	if c.MaxResponseBytes < 0 {
		add("max_response_bytes", "must be >= 0, got %d", c.MaxResponseBytes)
	}
	return errors.Join(errs...)
}

// Waiter is what the client needs of its rate limiter; tests wrap it.
type Waiter interface {
	Wait(ctx context.Context) error
}

// Client sends chat-completions requests. Its exported hooks are set by
// New; tests replace them.
type Client struct {
	cfg  Config
	http *http.Client
	env  secret.Lookup
	// Limiter is waited on before every attempt.
	Limiter Waiter
	// Sleep waits between retries.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a random duration in [0, d).
	Jitter func(d time.Duration) time.Duration
}

// New validates cfg and returns a client. httpc nil means
// http.DefaultClient; env resolves env: refs (nil means the process
// environment, as secret.Ref.Resolve does).
func New(cfg Config, httpc *http.Client, env secret.Lookup) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if httpc == nil {
		httpc = http.DefaultClient
	}
	return &Client{cfg: cfg, http: httpc, env: env,
		Limiter: rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), cfg.Burst),
		Sleep:   sleepCtx, Jitter: randomJitter}, nil
}

// Config returns the client's configuration (defaults filled).
func (c *Client) Config() Config { return c.cfg }

// Key resolves the API key; "" when none is configured.
func (c *Client) Key() (string, error) {
	if c.cfg.APIKey.IsZero() {
		return "", nil
	}
	k, err := c.cfg.APIKey.Resolve(c.env)
	if err != nil {
		return "", fmt.Errorf("llm: api_key: %w", err)
	}
	return k, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func randomJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// Hint says what an operator should check when a request failed with err
// in a way every other request would too: the api_key reference after a
// 401 or 403, the url and model after a 404. It is "" for other errors.
// It never holds the key itself, only its reference.
func (c *Client) Hint(err error) string {
	var se *StatusError
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Sprintf("check api_key %s", c.cfg.APIKey)
	case http.StatusNotFound:
		return fmt.Sprintf("check url and model %q", c.cfg.Model)
	}
	return ""
}
