package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"contextworker/internal/llm"
)

// Defaults of OpenAI's BatchSize and MaxInputBytes when they are 0.
const (
	// DefaultBatchSize is the texts per /embeddings request.
	DefaultBatchSize = 64
	// DefaultMaxInputBytes keeps a text well under the 8k-token input
	// limit of common embedding models.
	DefaultMaxInputBytes = 16 << 10
)

// ErrDimension is wrapped by the error of a vector whose dimension is not
// the configured one: the model or its dimensions setting changed, and
// its vectors must not mix with the stored ones.
var ErrDimension = errors.New("embedding of the wrong dimension")

// OpenAI embeds through an OpenAI-compatible /embeddings endpoint with
// the platform's client (internal/llm: retries, rate limit, bounded
// responses, API key from a secret ref). Texts are sent in batches of
// BatchSize, each cut to MaxInputBytes at a rune boundary; a text of
// white space only is not sent and gets the zero vector, as Hashing gives
// a text without words. Every vector must have Dimensions numbers and is
// L2-normalised.
//
// Texts are sent to the configured endpoint only: operators opt in by
// configuring modules.ingest.embedder. Errors never quote a text or the
// API key.
type OpenAI struct {
	// Client is the embeddings client (URL …/v1/embeddings, model, key).
	Client *llm.Client
	// Dimensions is the dimension of every vector; it is part of Name.
	Dimensions int
	// SendDimensions asks the model for Dimensions (the request's
	// dimensions), for models that can shorten their vectors.
	SendDimensions bool
	// BatchSize bounds the texts per request (default DefaultBatchSize).
	BatchSize int
	// MaxInputBytes bounds each text sent (default DefaultMaxInputBytes).
	MaxInputBytes int
}

var _ Embedder = (*OpenAI)(nil)

// Name implements Embedder: "openai:<model>:<dimensions>", so vectors of
// another model or dimension are never compared with these.
func (o *OpenAI) Name() string {
	return fmt.Sprintf("openai:%s:%d", o.Client.Config().Model, o.Dimensions)
}

// Embed implements Embedder.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	key, err := o.Client.Key()
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	out := make([][]float32, len(texts))
	var batch []string
	var at []int // the index in texts of each of batch
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var dims int
		if o.SendDimensions {
			dims = o.Dimensions
		}
		vecs, err := o.Client.Embeddings(ctx, key, llm.EmbeddingsRequest{Input: batch, Dimensions: dims})
		if err != nil {
			return o.transportError(ctx, err)
		}
		for i, v := range vecs {
			if len(v) != o.Dimensions {
				return fmt.Errorf("embed: %s: %w: got %d numbers, want %d (check model and dimensions)", o.Name(), ErrDimension, len(v), o.Dimensions)
			}
			out[at[i]] = normalise64(v)
		}
		batch, at = batch[:0], at[:0]
		return nil
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = make([]float32, o.Dimensions)
			continue
		}
		batch, at = append(batch, cut(t, o.maxInput())), append(at, i)
		if len(batch) == o.batchSize() {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// transportError adds a hint to the errors every request would hit.
func (o *OpenAI) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if h := o.Client.Hint(err); h != "" {
		return fmt.Errorf("embed: %s: %w (%s)", o.Name(), err, h)
	}
	var se *llm.StatusError
	if errors.As(err, &se) && se.Code == http.StatusBadRequest {
		return fmt.Errorf("embed: %s: %w (check model and whether it takes dimensions)", o.Name(), err)
	}
	return fmt.Errorf("embed: %s: %w", o.Name(), err)
}

func (o *OpenAI) batchSize() int {
	if o.BatchSize > 0 {
		return o.BatchSize
	}
	return DefaultBatchSize
}

func (o *OpenAI) maxInput() int {
	if o.MaxInputBytes > 0 {
		return o.MaxInputBytes
	}
	return DefaultMaxInputBytes
}

// cut returns s cut to at most n bytes at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// normalise64 is normalise for a server's float64 vector; a zero vector
// stays zero. The sum of squares is scaled by the largest magnitude, so a
// server's huge numbers cannot overflow it.
func normalise64(v []float64) []float32 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	acc := make([]float64, len(v))
	if m == 0 {
		return normalise(acc)
	}
	for i, x := range v {
		acc[i] = x / m
	}
	return normalise(acc)
}
