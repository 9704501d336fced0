package embed

import (
	"hash/fnv"
	"slices"
	"testing"

	"contextworker/modules/ingest/docgen"
)

// referenceHashVector is the Hashing embedder as documented, written the
// plain way (hash/fnv, the bigram as a string), for HashVector to match.
func referenceHashVector(s string) []float32 {
	acc := make([]float64, Dim)
	add := func(f string) {
		h := fnv.New64a()
		h.Write([]byte(f))
		x := h.Sum64()
		if x>>63 == 0 {
			acc[x%Dim]++
		} else {
			acc[x%Dim]--
		}
	}
	words := Words(s)
	for i, w := range words {
		add(w)
		if i > 0 {
			add(words[i-1] + " " + w)
		}
	}
	return normalise(acc)
}

func TestHashVectorMatchesReference(t *testing.T) {
	g := docgen.New(5)
	texts := []string{"", "one", "Ünïcode wörds, ŞPACE\tand\nlines", "a a a a b"}
	for range 50 {
		texts = append(texts, g.Doc(1500))
	}
	for i, s := range texts {
		if got, want := HashVector(s), referenceHashVector(s); !slices.Equal(got, want) {
			t.Fatalf("text %d: HashVector differs from the reference", i)
		}
	}
}
