package embed

import "sync"

// Index is one tenant's vectors in memory, searched by exact scan: every
// query compares with every vector, so recall is 1. It costs 4·Dim bytes
// per vector (1.5 KiB at 384 dims) and one pass over them per query; see
// BenchmarkNearest for the figure at 100k vectors. It is safe for
// concurrent use.
type Index struct {
	mu   sync.RWMutex
	ids  []string
	vecs []float32 // len(ids)·dim, row-major
	dim  int
	// Seq is the highest store sequence number loaded, for incremental
	// refreshes; the caller owns its meaning.
	seq int64
}

// NewIndex returns an empty index of dim-dimensional vectors.
func NewIndex(dim int) *Index { return &Index{dim: dim} }

// Add appends a vector with its id and the store sequence it came from.
// Vectors of the wrong dimension are ignored and reported false.
func (x *Index) Add(id string, v []float32, seq int64) bool {
	if len(v) != x.dim {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ids = append(x.ids, id)
	x.vecs = append(x.vecs, v...)
	x.seq = max(x.seq, seq)
	return true
}

// Seq returns the highest sequence added.
func (x *Index) Seq() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.seq
}

// Len returns the number of vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// Nearest returns the id of the vector most similar to q (highest dot
// product), skipping the id skip, and its cosine distance; ok is false
// when there is none.
func (x *Index) Nearest(q []float32, skip string) (id string, dist float64, ok bool) {
	if len(q) != x.dim {
		return "", 0, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	best, bi := float32(-2), -1
	for i := range x.ids {
		s := dot4(x.vecs[i*x.dim:(i+1)*x.dim], q)
		if s > best && x.ids[i] != skip {
			best, bi = s, i
		}
	}
	if bi < 0 {
		return "", 0, false
	}
	return x.ids[bi], min(max(1-float64(best), 0), 2), true
}

// dot4 is Dot unrolled by four with independent sums, which lets the CPU
// overlap the additions; the scan spends all its time here.
func dot4(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
