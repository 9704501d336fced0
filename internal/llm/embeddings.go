package llm

import (
	"context"
	"encoding/json"
	"fmt"
)

// EmbeddingsRequest is one batch of texts to embed.
type EmbeddingsRequest struct {
	// Input are the texts, embedded in order.
	Input []string
	// Dimensions, when > 0, is sent as the request's dimensions (models
	// that can shorten their vectors honour it; others refuse it).
	Dimensions int
}

// embeddingsRequest is the body of an /embeddings request.
type embeddingsRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

// embeddingsResponse is the part of an /embeddings response read; the
// envelope is decoded leniently (servers add usage, model, object).
type embeddingsResponse struct {
	Data []struct {
		Index     *int      `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
}

// Embeddings sends req to the configured /embeddings endpoint with the
// API key key (see Key), under Post's retry policy and rate limit, and
// returns one vector per input, in input order. A response that does not
// hold exactly one non-empty vector per input (by index) is ErrBadBody
// (JSON has no NaN or infinity, so every number decoded is finite).
// The vectors are returned as the server sent them: checking their
// dimension and normalising them is the caller's job.
func (c *Client) Embeddings(ctx context.Context, key string, req EmbeddingsRequest) ([][]float64, error) {
	if len(req.Input) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(embeddingsRequest{Model: c.cfg.Model, Input: req.Input, EncodingFormat: "float", Dimensions: req.Dimensions})
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	var out [][]float64
	err = c.send(ctx, key, body, func(b []byte) error {
		var er embeddingsResponse
		if err := json.Unmarshal(b, &er); err != nil {
			return fmt.Errorf("%w: %w", ErrBadBody, err)
		}
		if len(er.Data) != len(req.Input) {
			return fmt.Errorf("%w: %d embeddings for %d inputs", ErrBadBody, len(er.Data), len(req.Input))
		}
		vecs := make([][]float64, len(req.Input))
		for i, d := range er.Data {
			at := i // servers that omit index answer in order
			if d.Index != nil {
				at = *d.Index
			}
			if at < 0 || at >= len(vecs) || vecs[at] != nil {
				return fmt.Errorf("%w: embedding index %d out of range or repeated", ErrBadBody, at)
			}
			if len(d.Embedding) == 0 {
				return fmt.Errorf("%w: embedding %d is empty", ErrBadBody, at)
			}
			vecs[at] = d.Embedding
		}
		out = vecs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
