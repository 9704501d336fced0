package feed

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// repeat is an io.Reader of n copies of b, so a hostile feed of any size
// costs the test no memory.
type repeat struct {
	b byte
	n int64
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// feedOf concatenates strings and *repeat readers into one feed.
func feedOf(parts ...any) io.Reader {
	rs := make([]io.Reader, len(parts))
	for i, p := range parts {
		switch p := p.(type) {
		case string:
			rs[i] = strings.NewReader(p)
		case *repeat:
			rs[i] = &repeat{b: p.b, n: p.n} // a fresh copy: parts may be reused
		default:
			panic("feedOf: unsupported part")
		}
	}
	return io.MultiReader(rs...)
}

// gzipped compresses r.
func gzipped(t testing.TB, r io.Reader) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := io.Copy(zw, r); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// allocated runs fn and returns how many bytes it allocated on the heap:
// an upper bound of how much the heap could grow while it ran.
func allocated(fn func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// readBounded reads a feed with NewReader (or Open for gzip), failing the
// test when reading allocates more than limit bytes.
func readBounded(t *testing.T, r io.Reader, opts Options, open bool, limit uint64) result {
	t.Helper()
	var got result
	n := allocated(func() {
		var rd Reader
		var err error
		if open {
			rd, err = Open(r, opts)
		} else {
			rd, err = NewReader(r, opts)
		}
		if err != nil {
			t.Fatalf("NewReader: %v", err)
		}
		got = collect(t, rd)
		_ = rd.Close()
	})
	t.Logf("allocated %d KiB", n>>10)
	if n > limit {
		t.Errorf("reading allocated %d bytes, want at most %d", n, limit)
	}
	return got
}

// wantRejected checks that the only rejected record is row, for reason kind,
// with a message holding every one of parts.
func wantRejected(t *testing.T, got result, row int64, kind error, parts ...string) {
	t.Helper()
	if len(got.rejected) != 1 {
		t.Fatalf("rejected %v, want record %d only", got.rejected, row)
	}
	rerr := got.rejected[0]
	if rerr.Row != row || !errors.Is(rerr, kind) {
		t.Fatalf("rejected %v, want record %d for %v", rerr, row, kind)
	}
	for _, p := range parts {
		if !strings.Contains(rerr.Error(), p) {
			t.Errorf("reason %q does not say %q", rerr.Error(), p)
		}
	}
}
