package critic

import (
	"context"
	"testing"

	"contextworker/modules/ingest/docgen"
	"contextworker/modules/ingest/extract"
)

// TestPrepareMatchesEntail: the prepared Lexical scores every claim of
// generated documents exactly as Entail does, premise by premise.
func TestPrepareMatchesEntail(t *testing.T) {
	g := docgen.New(11)
	texts := []string{"", "the and but", "Café crème brûlée: café! ÇA va? naïve naïve", honestText}
	for range 30 {
		texts = append(texts, g.Doc(2048))
	}
	for i, text := range texts {
		x, err := extract.Rules{}.Extract(context.Background(), text)
		if err != nil {
			continue
		}
		premises := []string{text, text, "", "café naïve"}
		for _, e := range x.Evidence {
			premises = append(premises, e.Content)
		}
		best := Lexical{}.Prepare(premises)
		claims := []string{"", "naïve café crème", x.Hypothesis}
		for _, n := range x.Graph.Nodes {
			claims = append(claims, n.Text)
		}
		for _, c := range claims {
			want := 0.0
			for _, p := range premises {
				want = max(want, Lexical{}.Entail(p, c))
			}
			if got := best(c); got != want {
				t.Fatalf("text %d, claim %q: prepared %v, Entail %v", i, c, got, want)
			}
		}
	}
}

const honestText = "We show that sleep improves recall because memories consolidate [1]. Therefore rest helps.\n\nReferences\n[1] Smith. Sleep. 2020.\n"
