package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat is the request's response_format: {"type":"json_object"},
// or {"type":"json_schema","json_schema":{...}} for a strict schema.
type ResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// Request is one chat completion asked for.
type Request struct {
	Messages       []Message
	ResponseFormat ResponseFormat
}

// chatRequest is the body of a chat-completions request.
type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []Message      `json:"messages"`
	ResponseFormat ResponseFormat `json:"response_format"`
	Temperature    float64        `json:"temperature"`
}

// chatResponse is the part of a chat-completions response read. The
// envelope is decoded leniently (servers add fields).
type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code       int
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
}

// Retryable reports whether another attempt may succeed.
func (e *StatusError) Retryable() bool {
	return e.Code == http.StatusTooManyRequests || e.Code >= 500
}

// ErrBadBody marks a 2xx response that is not a chat completion (or, from
// Embeddings, not an embeddings list), or one larger than the configured
// bound. It is never retried.
var ErrBadBody = errors.New("unexpected response body")

// ErrTooLarge marks a response larger than MaxResponseBytes; it is also
// ErrBadBody. Callers may treat it as a bad answer rather than a bad
// server.
var ErrTooLarge = errors.New("response too large")

// tooLarge is the error of a response over the bound: ErrBadBody and
// ErrTooLarge.
type tooLarge struct{ limit int64 }

func (e tooLarge) Error() string {
	return fmt.Sprintf("%v: larger than %d bytes", ErrBadBody, e.limit)
}

func (e tooLarge) Is(target error) bool { return target == ErrBadBody || target == ErrTooLarge }

// Body marshals req into a request body for the client's model.
func (c *Client) Body(req Request) ([]byte, error) {
	b, err := json.Marshal(chatRequest{Model: c.cfg.Model, Messages: req.Messages, ResponseFormat: req.ResponseFormat})
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	return b, nil
}

// Chat sends req with the API key key (see Key) and returns the first
// choice's message content.
func (c *Client) Chat(ctx context.Context, key string, req Request) (string, error) {
	body, err := c.Body(req)
	if err != nil {
		return "", err
	}
	return c.Post(ctx, key, body)
}

// Post sends a marshalled body (see Body), retrying on 429, 5xx, timeouts
// and network errors with capped exponential backoff and jitter, honouring
// Retry-After, at most MaxRetries times. Every attempt waits for the rate
// limiter first. It returns the first choice's message content.
func (c *Client) Post(ctx context.Context, key string, body []byte) (string, error) {
	var content string
	err := c.send(ctx, key, body, func(b []byte) error {
		var cr chatResponse
		if err := json.Unmarshal(b, &cr); err != nil {
			return fmt.Errorf("%w: %w", ErrBadBody, err)
		}
		if len(cr.Choices) == 0 {
			return fmt.Errorf("%w: no choices", ErrBadBody)
		}
		content = cr.Choices[0].Message.Content
		return nil
	})
	return content, err
}

// send posts body to the configured URL with Post's retry policy and
// hands each 2xx body (within MaxResponseBytes) to parse. An error of
// parse is never retried: the server answered, wrongly.
func (c *Client) send(ctx context.Context, key string, body []byte, parse func([]byte) error) error {
	for attempt := 0; ; attempt++ {
		if err := c.Limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("rate limit: %w", err)
		}
		err := c.attempt(ctx, key, body, parse)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *StatusError
		retry := !errors.As(err, &se) || se.Retryable() // a timeout or network error, or 429/5xx
		if errors.Is(err, ErrBadBody) {
			retry = false
		}
		if !retry || attempt >= c.cfg.MaxRetries {
			return fmt.Errorf("after %d attempts: %w", attempt+1, err)
		}
		wait := c.backoff(attempt)
		if se != nil && se.RetryAfter > 0 {
			wait = min(se.RetryAfter, c.cfg.MaxBackoff)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// attempt makes one request under the configured timeout.
func (c *Client) attempt(ctx context.Context, key string, body []byte, parse func([]byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	if int64(len(b)) > c.cfg.MaxResponseBytes {
		return tooLarge{c.cfg.MaxResponseBytes}
	}
	return parse(b)
}

// backoff returns the wait before retry attempt+1: exponential from
// MinBackoff, capped at MaxBackoff, half of it random (equal jitter) so
// that callers retrying together spread out.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MaxBackoff
	if attempt < 30 {
		d = min(c.cfg.MinBackoff<<attempt, c.cfg.MaxBackoff)
	}
	return d/2 + c.Jitter(d/2)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
