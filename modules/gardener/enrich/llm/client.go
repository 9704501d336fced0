package llm

import (
	"context"
	"encoding/json"
	"fmt"

	chat "contextworker/internal/llm"
	"contextworker/modules/gardener/enrich"
)

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
	body, err := e.client.Body(chat.Request{
		Messages: []chat.Message{
			{Role: "system", Content: e.system},
			{Role: "user", Content: string(user)},
		},
		ResponseFormat: chat.ResponseFormat{Type: "json_object"},
	})
	if err != nil {
		return nil, err
	}
	out.Count(TallyCache, "sent")

	for try := 0; try < 2; try++ {
		content, err := e.client.Post(ctx, key, body)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if h := e.client.Hint(err); h != "" {
				return nil, fmt.Errorf("llm: %s: %w (%s)", e.cfg.URL, err, h)
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
