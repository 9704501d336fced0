package embed

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// bruteNearest is the definition Index.Nearest must match to the bit: a
// scan with Dot, the first vector of the highest similarity winning.
func bruteNearest(ids []string, vecs [][]float32, q []float32, skip string) (string, float64, bool) {
	best, bi := float32(-2), -1
	for i, v := range vecs {
		if s := float32(Dot(v, q)); s > best && ids[i] != skip {
			best, bi = s, i
		}
	}
	if bi < 0 {
		return "", 0, false
	}
	return ids[bi], min(max(1-float64(best), 0), 2), true
}

// randomVector is a normalised vector of dim entries, nnz of them
// non-zero; values are drawn from a few levels so that ties happen.
func randomVector(r *rand.Rand, dim, nnz int) []float32 {
	acc := make([]float64, dim)
	for range nnz {
		acc[r.IntN(dim)] += float64(r.IntN(5) - 2)
	}
	return normalise(acc)
}

func TestIndexMatchesScan(t *testing.T) {
	tests := []struct {
		name     string
		dim, n   int
		nnz      func(r *rand.Rand) int // non-zero entries of each vector
		queryNNZ int
		// common: the vectors share their first common dimensions (hot
		// ones, which become columns)
		common int
	}{
		{"sparse hashing-like", Dim, 500, func(r *rand.Rand) int { return 5 + r.IntN(40) }, 30, 0},
		{"dense", 64, 300, func(*rand.Rand) int { return 200 }, 200, 0},
		{"mixed sparse and dense", 48, 400, func(r *rand.Rand) int { return 1 + r.IntN(120) }, 20, 0},
		{"dense vectors, sparse query", 96, 301, func(*rand.Rand) int { return 300 }, 3, 0},
		{"few distinct vectors (ties)", 16, 200, func(*rand.Rand) int { return 2 }, 2, 0},
		{"shared features (hot dimensions)", 64, 700, func(r *rand.Rand) int { return 3 + r.IntN(10) }, 8, 5},
		{"shared features, some dense vectors", 40, 400, func(r *rand.Rand) int { return 3 + r.IntN(40) }, 30, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tt.n), uint64(tt.dim)))
			x := NewIndex(0)
			var ids []string
			var vecs [][]float32
			for i := range tt.n {
				v := randomVector(r, tt.dim, tt.nnz(r))
				for j := range tt.common {
					v[j] = float32(r.IntN(3)+1) / 4
				}
				id := fmt.Sprint(i % (tt.n - 7)) // a few ids twice, as a skip must skip both
				ids, vecs = append(ids, id), append(vecs, v)
				if !x.Add(id, v, int64(i)) {
					t.Fatalf("add %d refused", i)
				}
			}
			if x.Dim() != tt.dim || x.Len() != tt.n || x.Seq() != int64(tt.n-1) {
				t.Fatalf("dim %d len %d seq %d", x.Dim(), x.Len(), x.Seq())
			}
			if hot := x.col[0] != nil; hot != (tt.common > 0) {
				t.Fatalf("dimension 0 hot: %v, want %v", hot, tt.common > 0)
			}
			for k := range 200 {
				q := randomVector(r, tt.dim, tt.queryNNZ)
				for j := range tt.common {
					q[j] = float32(r.IntN(3)+1) / 4
				}
				if k%3 == 0 {
					q = vecs[r.IntN(len(vecs))] // a stored vector: distance 0
				}
				skip := ""
				if k%2 == 0 {
					skip = ids[r.IntN(len(ids))]
				}
				gotID, gotD, gotOK := x.Nearest(q, skip)
				wantID, wantD, wantOK := bruteNearest(ids, vecs, q, skip)
				if gotID != wantID || gotD != wantD || gotOK != wantOK {
					t.Fatalf("query %d (skip %q): got %s %v %v, want %s %v %v", k, skip, gotID, gotD, gotOK, wantID, wantD, wantOK)
				}
			}
		})
	}
}

func TestIndexDimensions(t *testing.T) {
	x := NewIndex(0)
	if _, _, ok := x.Nearest([]float32{1, 0}, ""); ok {
		t.Fatal("empty index found a neighbour")
	}
	if x.Add("empty", nil, 1) {
		t.Fatal("an empty vector was added")
	}
	if !x.Add("a", []float32{0.6, 0.8}, 2) || x.Dim() != 2 {
		t.Fatalf("first vector refused or dim %d", x.Dim())
	}
	if x.Add("b", HashVector("alpha"), 3) {
		t.Fatal("a vector of another dimension was added")
	}
	if _, _, ok := x.Nearest(HashVector("alpha"), ""); ok {
		t.Fatal("a query of another dimension found a neighbour")
	}
	id, d, ok := x.Nearest([]float32{0, 1}, "")
	if !ok || id != "a" || d < 0.19 || d > 0.21 {
		t.Fatalf("nearest = %s %v %v, want a at 0.2", id, d, ok)
	}
	if _, _, ok := x.Nearest([]float32{0, 1}, "a"); ok {
		t.Fatal("the only vector was skipped, yet a neighbour was found")
	}
	// a zero vector is at cosine distance 1 from everything
	z := NewIndex(Dim)
	z.Add("zero", make([]float32, Dim), 1)
	if id, d, ok := z.Nearest(HashVector("alpha beta"), ""); !ok || id != "zero" || d != 1 {
		t.Fatalf("nearest to a zero vector = %s %v %v", id, d, ok)
	}
}

// hypotheses returns n hashing embeddings of hypotheses like the
// benchmark corpus's ("We show that" and 12 words of a 5000-word
// vocabulary).
func hypotheses(n int) [][]float32 {
	r := rand.New(rand.NewPCG(3, 4))
	syl := []string{"ka", "lo", "mi", "ne", "ra", "tu", "vo", "shi", "den", "par", "gal", "tor", "bex", "qui", "fen", "mar", "sol", "ith", "ul", "zen"}
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = syl[r.IntN(len(syl))] + syl[r.IntN(len(syl))] + syl[r.IntN(len(syl))]
	}
	out := make([][]float32, n)
	for i := range out {
		w := []string{"We show that"}
		for range 12 {
			w = append(w, vocab[r.IntN(len(vocab))])
		}
		out[i] = HashVector(strings.Join(w, " ") + " [1].")
	}
	return out
}

// BenchmarkIndexNearest measures Nearest over 100k vectors of one tenant:
// hashing embeddings of hypotheses (sparse, the default embedder) and
// dense random vectors with a dense query (a neural embedder's case).
// Exact: recall 1 (TestIndexMatchesScan).
//
//	go test -run - -bench IndexNearest ./modules/ingest/embed/
func BenchmarkIndexNearest(b *testing.B) {
	const n = 100_000
	b.Run("hashing-hypotheses", func(b *testing.B) {
		vs := hypotheses(n + 1000)
		before := heapInUse()
		x := NewIndex(Dim)
		for i, v := range vs[:n] {
			x.Add(fmt.Sprintf("%016x", i), v, int64(i)) // as long as an SNO id
		}
		size := heapInUse() - before
		b.ResetTimer()
		i := 0
		for b.Loop() {
			x.Nearest(vs[n+i%1000], "")
			i++
		}
		b.ReportMetric(float64(n), "vectors")
		b.ReportMetric(float64(size)/n, "index-B/vector")
	})
	b.Run("dense-384", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		before := heapInUse()
		x := NewIndex(Dim)
		for i := range n {
			x.Add(fmt.Sprintf("%016x", i), randomVector(r, Dim, 4*Dim), int64(i))
		}
		size := heapInUse() - before
		q := randomVector(r, Dim, 4*Dim)
		b.ResetTimer()
		for b.Loop() {
			x.Nearest(q, "")
		}
		b.ReportMetric(float64(n), "vectors")
		b.ReportMetric(float64(size)/n, "index-B/vector")
	})
}

// heapInUse is the live heap after a collection, in bytes.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
