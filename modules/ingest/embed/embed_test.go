package embed

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func nonZero(v []float32) map[int]float32 {
	m := map[int]float32{}
	for i, x := range v {
		if x != 0 {
			m[i] = x
		}
	}
	return m
}

// TestHashVector checks the construction by hand: the positions of the
// features are pinned (they pin the hash function: changing it changes
// every stored vector), the values follow from counting features.
func TestHashVector(t *testing.T) {
	third := float32(1 / math.Sqrt(3))
	tests := []struct {
		name string
		text string
		want map[int]float32
	}{
		{"empty", "  ,; ", map[int]float32{}},
		// one unigram, no bigram: a single ±1 after normalising
		{"one word", "Cat", map[int]float32{idx(t, "cat"): sign(t, "cat")}},
		// "the", "cat", "the cat": three features of weight 1/√3
		{"two words", "the cat", map[int]float32{idx(t, "the"): sign(t, "the") * third, idx(t, "cat"): sign(t, "cat") * third, idx(t, "the cat"): sign(t, "the cat") * third}},
		// "cat" twice and "cat cat" once: (2, ±1)/√5
		{"repeat", "cat CAT", map[int]float32{idx(t, "cat"): sign(t, "cat") * float32(2/math.Sqrt(5)), idx(t, "cat cat"): sign(t, "cat cat") * float32(1/math.Sqrt(5))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nonZero(HashVector(tt.text))
			if len(got) != len(tt.want) {
				t.Fatalf("non-zero entries %v, want %v", got, tt.want)
			}
			for i, w := range tt.want {
				if math.Abs(float64(got[i]-w)) > 1e-6 {
					t.Fatalf("v[%d] = %v, want %v (all: %v)", i, got[i], w, got)
				}
			}
		})
	}
}

// pinned positions and signs of a few features (fnv64a mod 384, top bit),
// computed independently of this package (a Python FNV-1a).
var pinned = map[string]struct {
	i int
	s float32
}{
	"cat": {295, -1}, "the": {252, 1}, "the cat": {24, 1}, "cat cat": {359, 1},
}

func idx(t *testing.T, f string) int {
	t.Helper()
	p, ok := pinned[f]
	if !ok {
		t.Fatalf("no pinned position for %q", f)
	}
	return p.i
}

func sign(t *testing.T, f string) float32 { t.Helper(); idx(t, f); return pinned[f].s }

func TestHashingProperties(t *testing.T) {
	texts := []string{"We show that graphs help.", "Ganz andere Wörter hier, 2023!", "a b c d e f g h"}
	vs, err := Hashing{}.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if len(v) != Dim {
			t.Fatalf("dim %d", len(v))
		}
		if n := Dot(v, v); math.Abs(n-1) > 1e-5 {
			t.Fatalf("%q: squared norm %v, want 1", texts[i], n)
		}
		if again := HashVector(texts[i]); Dot(again, v) < 1-1e-6 {
			t.Fatalf("%q: not deterministic", texts[i])
		}
	}
	if d := CosineDistance(vs[0], vs[0]); d > 1e-6 {
		t.Fatalf("self distance %v", d)
	}
}

func TestIndexNearest(t *testing.T) {
	x := NewIndex(Dim)
	for i, s := range []string{"alpha beta gamma", "delta epsilon", "alpha beta delta"} {
		x.Add(fmt.Sprint(i), HashVector(s), int64(i+1))
	}
	id, d, ok := x.Nearest(HashVector("alpha beta gamma"), "")
	if !ok || id != "0" || d > 1e-6 {
		t.Fatalf("nearest = %s %v %v", id, d, ok)
	}
	id, _, _ = x.Nearest(HashVector("alpha beta gamma"), "0")
	if id != "2" {
		t.Fatalf("nearest skipping 0 = %s, want 2", id)
	}
	if _, _, ok := NewIndex(Dim).Nearest(HashVector("x"), ""); ok {
		t.Fatal("empty index found a neighbour")
	}
	if x.Seq() != 3 || x.Len() != 3 {
		t.Fatalf("seq %d len %d", x.Seq(), x.Len())
	}
}

// BenchmarkNearest measures the exact scan over 100k vectors of one
// tenant: go test -run - -bench Nearest ./modules/ingest/embed/
func BenchmarkNearest(b *testing.B) {
	const n = 100_000
	r := rand.New(rand.NewPCG(1, 2))
	x := NewIndex(Dim)
	acc := make([]float64, Dim)
	for i := range n {
		for j := range acc {
			acc[j] = r.NormFloat64()
		}
		x.Add(fmt.Sprint(i), normalise(acc), int64(i))
	}
	q := HashVector("a query about graphs and trust")
	b.ResetTimer()
	for b.Loop() {
		x.Nearest(q, "")
	}
	b.ReportMetric(float64(n), "vectors")
}
