package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"contextworker/modules/gardener/enrich"
)

// maxResponse bounds the response body read: a chat completion for one
// batch is far smaller.
const maxResponse = 4 << 20

// chatRequest is the body of a chat-completions request.
type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []chatMessage  `json:"messages"`
	ResponseFormat responseFormat `json:"response_format"`
	Temperature    float64        `json:"temperature"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type string `json:"type"`
}

// chatResponse is the part of a chat-completions response we read. The
// envelope is decoded leniently (servers add fields); the content is not.
type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// statusError is a non-2xx answer.
type statusError struct {
	code       int
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
}

// retryable reports whether another attempt may succeed.
func (e *statusError) retryable() bool {
	return e.code == http.StatusTooManyRequests || e.code >= 500
}

// ask sends one chunk of products and returns the validated answers by
// cache key. A whole answer that is invalid is asked again once; after
// that, or when the endpoint keeps failing, the chunk is given up: no
// answers and no error. Errors are cancellation and configuration
// mistakes every request would hit (401, 403, 404).
func (e *Enricher) ask(ctx context.Context, key string, chunk []string, items map[string]item, out *enrich.Output) (map[string]map[string]string, error) {
	batch := make([]item, len(chunk))
	want := make(map[string]bool, len(chunk))
	bySKU := make(map[string]string, len(chunk))
	for i, k := range chunk {
		batch[i] = items[k]
		want[items[k].SKU] = true
		bySKU[items[k].SKU] = k
	}
	user, err := json.Marshal(batch)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	body, err := json.Marshal(chatRequest{
		Model: e.cfg.Model,
		Messages: []chatMessage{
			{Role: "system", Content: e.system},
			{Role: "user", Content: string(user)},
		},
		ResponseFormat: responseFormat{Type: "json_object"},
	})
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	out.Count(TallyCache, "sent")

	for try := 0; try < 2; try++ {
		content, err := e.call(ctx, key, body)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var se *statusError
			if errors.As(err, &se) {
				switch se.code {
				case http.StatusUnauthorized, http.StatusForbidden:
					return nil, fmt.Errorf("llm: %s: %w (check api_key %s)", e.cfg.URL, err, e.cfg.APIKey)
				case http.StatusNotFound:
					return nil, fmt.Errorf("llm: %s: %w (check url and model %q)", e.cfg.URL, err, e.cfg.Model)
				}
			}
			e.log.WarnContext(ctx, "llm: giving up on a batch", "url", e.cfg.URL, "products", len(chunk), "error", err)
			out.Count(TallyGaveUp, "request failed")
			return nil, nil
		}
		got, rejected, err := e.parse(content, want)
		if err != nil {
			e.log.WarnContext(ctx, "llm: rejected an invalid answer", "products", len(chunk), "try", try+1, "error", err)
			out.Count(TallyRejected, "malformed answer")
			continue
		}
		for _, r := range rejected {
			e.log.WarnContext(ctx, "llm: rejected an answer item", "sku", r.SKU, "reason", r.Reason)
			out.Count(TallyRejected, r.Reason)
		}
		res := make(map[string]map[string]string, len(got))
		for sku, fields := range got {
			res[bySKU[sku]] = fields
		}
		return res, nil
	}
	out.Count(TallyGaveUp, "invalid answers")
	return nil, nil
}

// call posts body, retrying on 429, 5xx, timeouts and network errors with
// capped exponential backoff and jitter, honouring Retry-After. Every
// attempt waits for the rate limiter first. It returns the message content.
func (e *Enricher) call(ctx context.Context, key string, body []byte) (string, error) {
	for attempt := 0; ; attempt++ {
		if err := e.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("rate limit: %w", err)
		}
		content, err := e.attempt(ctx, key, body)
		if err == nil {
			return content, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var se *statusError
		retry := !errors.As(err, &se) || se.retryable() // a timeout or network error, or 429/5xx
		if errors.Is(err, errBadBody) {
			retry = false
		}
		if !retry || attempt >= e.cfg.MaxRetries {
			return "", fmt.Errorf("after %d attempts: %w", attempt+1, err)
		}
		wait := e.backoff(attempt)
		if se != nil && se.retryAfter > 0 {
			wait = min(se.retryAfter, e.cfg.MaxBackoff)
		}
		if err := e.sleep(ctx, wait); err != nil {
			return "", err
		}
	}
}

// errBadBody marks a 2xx response that is not a chat completion.
var errBadBody = errors.New("not a chat-completions response")

// attempt makes one request under the configured timeout.
func (e *Enricher) attempt(ctx context.Context, key string, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", &statusError{code: resp.StatusCode, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	var cr chatResponse
	if err := json.Unmarshal(b, &cr); err != nil {
		return "", fmt.Errorf("%w: %w", errBadBody, err)
	}
	if len(cr.Choices) == 0 {
		return "", fmt.Errorf("%w: no choices", errBadBody)
	}
	return cr.Choices[0].Message.Content, nil
}

// backoff returns the wait before retry attempt+1: exponential from
// MinBackoff, capped at MaxBackoff, half of it random (equal jitter) so
// that workers retrying together spread out.
func (e *Enricher) backoff(attempt int) time.Duration {
	d := e.cfg.MaxBackoff
	if attempt < 30 {
		d = min(e.cfg.MinBackoff<<attempt, e.cfg.MaxBackoff)
	}
	return d/2 + e.jitter(d/2)
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
