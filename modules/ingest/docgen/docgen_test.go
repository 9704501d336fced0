package docgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"contextworker/modules/ingest/admission"
	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/extract"
)

// TestDocsAreHonestAndDistinct: generated documents pass the size and
// encoding checks, cite resolvable references, and are far from each other
// (or a benchmark would measure the flood detector's quarantine path).
func TestDocsAreHonestAndDistinct(t *testing.T) {
	var buf bytes.Buffer
	if err := New(1).WriteJSONL(&buf, 50, 2048); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	var vecs [][]float32
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if n := len(r.Text); n < 1800 || n > 2300 {
			t.Fatalf("document of %d bytes, want about 2048", n)
		}
		if rs := admission.CheckText([]byte(r.Text), admission.DefaultConfig()); rs != nil {
			t.Fatalf("refused: %v", rs)
		}
		s, err := extract.Rules{}.Extract(context.Background(), r.Text)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range s.Evidence {
			if !e.Resolved {
				t.Fatalf("unresolved citation %s", e.SourceID)
			}
		}
		v := embed.HashVector(r.Text)
		for _, u := range vecs {
			// shared function words keep cosines around 0.5; flooding
			// starts at flood_similarity (0.9)
			if embed.Dot(u, v) > admission.DefaultConfig().FloodSimilarity-0.1 {
				t.Fatalf("two documents with cosine %.2f", embed.Dot(u, v))
			}
		}
		vecs = append(vecs, v)
	}
	if len(vecs) != 50 {
		t.Fatalf("%d documents", len(vecs))
	}
}
