package embed

import (
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"unicode"

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

// TestWordsASCII: the one-pass ASCII split returns what the general
// split returns, on every ASCII byte and on generated documents.
func TestWordsASCII(t *testing.T) {
	general := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	var all []byte
	for c := 0; c < 0x80; c++ {
		all = append(all, byte(c), 'x', byte(c), byte(c), '9')
	}
	g := docgen.New(9)
	texts := []string{"", " ", "A", "Hello, World! 42x", string(all), "ÀB"}
	for range 20 {
		texts = append(texts, g.Doc(800))
	}
	for i, s := range texts {
		got, want := Words(s), general(s)
		if len(want) == 0 {
			want = []string{}
		}
		if len(got) == 0 {
			got = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("text %d: Words %q, want %q", i, got, want)
		}
	}
}
