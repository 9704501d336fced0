// Package docgen generates synthetic documents for ingest benchmarks and
// demos: research-style texts of a given size with a claim, reasoning
// sentences, citations and a reference list, over a pseudo-word
// vocabulary so no two documents are near-duplicates. It is dev tooling:
// shipping code must never import it.
package docgen

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

var syllables = []string{"ka", "lo", "mi", "ne", "ra", "tu", "vo", "shi", "den", "par", "gal", "tor", "bex", "qui", "fen", "mar", "sol", "ith", "ul", "zen"}

var markers = []string{"because", "therefore", "thus", "hence", "so that", "as a result"}

// Generator makes documents deterministically from its seed.
type Generator struct {
	r     *rand.Rand
	vocab []string
	// Sources is how many distinct sources documents are spread over.
	Sources int
}

// New returns a generator with a vocabulary of 5000 pseudo-words.
func New(seed uint64) *Generator {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vocab := make([]string, 5000)
	for i := range vocab {
		var b strings.Builder
		for range 2 + r.IntN(2) {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		vocab[i] = b.String()
	}
	return &Generator{r: r, vocab: vocab, Sources: 500}
}

func (g *Generator) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = g.vocab[g.r.IntN(len(g.vocab))]
	}
	return strings.Join(w, " ")
}

// Doc returns a document of about size bytes.
func (g *Generator) Doc(size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nWe show that %s [1]. ", g.words(5), g.words(12))
	refs := 1
	for b.Len()+48*(refs+1)+120 < size {
		refs++
		fmt.Fprintf(&b, "The %s holds %s the %s [%d]. ", g.words(6), markers[g.r.IntN(len(markers))], g.words(8), refs)
		if g.r.IntN(4) == 0 {
			fmt.Fprintf(&b, "Some %s remains open. ", g.words(7))
		}
	}
	b.WriteString("\n\nReferences\n")
	for i := 1; i <= refs; i++ {
		fmt.Fprintf(&b, "[%d] %s. %d. doi:10.%d/%s\n", i, g.words(3), 1990+g.r.IntN(35), 1000+g.r.IntN(9000), g.vocab[g.r.IntN(len(g.vocab))])
	}
	return b.String()
}

// Record is one JSONL line, as ingest-batch reads it.
type Record struct {
	Text   string `json:"text"`
	Source string `json:"source"`
}

// WriteJSONL writes n documents of about size bytes as JSON lines, each
// from one of g.Sources sources.
func (g *Generator) WriteJSONL(w io.Writer, n, size int) error {
	enc := json.NewEncoder(w)
	for i := range n {
		rec := Record{Text: g.Doc(size), Source: fmt.Sprintf("bench-%d", i%max(1, g.Sources))}
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("docgen: write: %w", err)
		}
	}
	return nil
}
