// Package embed turns text into vectors for the ingest module and finds
// nearest neighbours among them. The default embedder is deterministic and
// offline (feature hashing); it must never do I/O. The optional OpenAI
// embedder sends texts to the one configured /embeddings endpoint and
// must never return a vector of another dimension than its name says. Callers keep vectors of
// one tenant apart: an Index holds one tenant's vectors only.
package embed

import (
	"context"
	"math"
	"strings"
	"unicode"
)

// Dim is the dimension of the hashing embedder's vectors.
const Dim = 384

// Embedder turns texts into L2-normalised vectors of one dimension.
type Embedder interface {
	// Name identifies the embedder and its version; vectors of different
	// names are not comparable.
	Name() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Hashing is the default embedder: feature hashing ("the hashing trick")
// of lower-cased word unigrams and bigrams into Dim dimensions.
//
//	v[fnv64a(f) mod Dim] += sign(f)   for every feature f (repeats count),
//	sign(f) = +1 when the top bit of fnv64a(f) is 0, else -1,
//	v = v / ‖v‖₂                      (the zero vector when there is no word)
//
// A bigram feature is "w1 w2" (one space), so it never collides with a
// unigram by construction of the key, only by the modulus. The signed
// hash keeps collisions unbiased (they cancel in expectation).
type Hashing struct{}

// Name implements Embedder.
func (Hashing) Name() string { return "hashing-uni-bi-384-v1" }

// Embed implements Embedder.
func (Hashing) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = HashVector(t)
	}
	return out, nil
}

// Words splits s into lower-cased words: runs of letters and digits.
func Words(s string) []string {
	if w, ok := asciiWords(s); ok {
		return w
	}
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// asciiWords is Words for an ASCII text (ok false otherwise), in one pass:
// in ASCII the letters are A-Z and a-z, the digits 0-9, and lower-casing
// maps A-Z to a-z only, so the words are the runs of those, lower-cased.
// The words share one lower-cased copy of the text.
func asciiWords(s string) ([]string, bool) {
	lower := make([]byte, len(s))
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return nil, false
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		lower[i] = c
		if isASCIIWord(c) && (i == 0 || !isASCIIWord(lower[i-1])) {
			n++
		}
	}
	text := string(lower)
	out := make([]string, 0, n)
	for i := 0; i < len(text); {
		for i < len(text) && !isASCIIWord(text[i]) {
			i++
		}
		j := i
		for j < len(text) && isASCIIWord(text[j]) {
			j++
		}
		if j > i {
			out = append(out, text[i:j])
		}
		i = j
	}
	return out, true
}

func isASCIIWord(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// HashVector is the Hashing embedding of one text.
func HashVector(s string) []float32 {
	acc := make([]float64, Dim)
	add := func(x uint64) {
		if x>>63 == 0 {
			acc[x%Dim]++
		} else {
			acc[x%Dim]--
		}
	}
	// FNV-1a has no finalisation, so the hash of "w1 w2" continues from
	// the hash of w1: each word is hashed once, and nothing is allocated
	// per feature.
	var prev uint64
	for i, w := range Words(s) {
		h := fnvString(fnvOffset, w)
		add(h)
		if i > 0 {
			add(fnvString((prev^' ')*fnvPrime, w))
		}
		prev = h
	}
	return normalise(acc)
}

// FNV-1a, 64 bits (hash/fnv's New64a, inlined).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func normalise(acc []float64) []float32 {
	var ss float64
	for _, x := range acc {
		ss += x * x
	}
	v := make([]float32, len(acc))
	if ss == 0 {
		return v
	}
	n := math.Sqrt(ss)
	for i, x := range acc {
		v[i] = float32(x / n)
	}
	return v
}

// Dot returns the dot product of a and b (the cosine similarity of two
// L2-normalised vectors); it panics when their lengths differ.
func Dot(a, b []float32) float64 {
	if len(a) != len(b) {
		panic("embed: dot of vectors of different lengths")
	}
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

// CosineDistance is 1 − cos(a, b), in [0, 2] for normalised vectors. A zero
// vector is at distance 1 from everything (cosine 0).
func CosineDistance(a, b []float32) float64 {
	d := 1 - Dot(a, b)
	return min(max(d, 0), 2)
}
