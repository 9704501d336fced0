package gardener

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/enrichtest"
)

// BenchmarkSparseBatch enriches and diffs a batch of 5,000 changed
// products whose fields are stored already, as stored (jsonb's spelling),
// as an incremental run's enrich stage does after a re-harvest that
// changed prices: every field is compared, none is written.
func BenchmarkSparseBatch(b *testing.B) {
	ps, err := enrichtest.Products(5000, 3)
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(nil, DefaultConfig(), nil, enrich.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	full := enrich.Run{ID: "r1", TenantID: "t", Now: now}
	if _, err := a.Pipeline.Run(context.Background(), full, ps, nil); err != nil {
		b.Fatal(err)
	}
	// The same products again, with no results yet: each round copies them.
	fresh, err := enrichtest.Products(5000, 3)
	if err != nil {
		b.Fatal(err)
	}
	w := &work{batch: make([]*enrich.Product, len(ps)), stored: make([]map[string]provenance, len(ps))}
	tmpl := make([]enrich.Product, len(ps))
	for i, p := range ps {
		q := *fresh[i]
		q.Stored = map[string]json.RawMessage{}
		w.stored[i] = map[string]provenance{}
		for _, r := range p.Results() {
			s, ok := jsonbText(r.Value)
			if !ok {
				s = r.Value
			}
			q.Stored[r.Field] = s
			w.stored[i][r.Field] = provenance{r.Enricher, r.Version}
		}
		q.Changed = true
		tmpl[i] = q
	}
	sparse := enrich.Run{ID: "r2", TenantID: "t", Now: now, Sparse: true}
	b.ResetTimer()
	for range b.N {
		for i := range tmpl {
			q := tmpl[i]
			w.batch[i] = &q
		}
		out, err := a.Pipeline.Run(context.Background(), sparse, w.batch, nil)
		if err != nil {
			b.Fatal(err)
		}
		if d := diff(w, out, nil); len(d.inserts)+len(d.updates)+len(d.removes) != 0 {
			b.Fatalf("diff: %d inserts, %d updates, %d removes; want none", len(d.inserts), len(d.updates), len(d.removes))
		}
	}
}
