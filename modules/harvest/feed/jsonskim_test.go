package feed

import (
	"fmt"
	"strings"
	"testing"
)

// skimIn feeds data to a new jsonSkim in pieces of size bytes (the last
// one shorter) until it says the value ended, and describes what it found.
func skimIn(data []byte, size int) string {
	var s jsonSkim
	used := 0
	done := false
	for used < len(data) && !done {
		piece := data[used:min(used+size, len(data))]
		var n int
		n, done = s.feed(piece)
		if n > len(piece) || n < len(piece) && !done {
			return fmt.Sprintf("took %d of a %d-byte piece (done %v)", n, len(piece), done)
		}
		used += n
	}
	return fmt.Sprintf("used %d done %v total %d deepest %d longest %d key %q",
		used, done, s.total, s.deepest, s.longest, s.longKey)
}

// FuzzJSONSkimPieces holds jsonSkim to the same findings whatever pieces
// it is fed in: one byte at a time is its plain byte-by-byte walk.
func FuzzJSONSkimPieces(f *testing.F) {
	for _, seed := range []string{
		`{"sku":"A-1","name":"a \"quoted\" \\ name","p":{"x":[1,2,{"y":"zz"}]}} ,`,
		`"a string \\" at the top" 1`,
		`12.5e3]`,
		`[{"` + strings.Repeat("k", 200) + `":"` + strings.Repeat("v", 300) + `"}]`,
		`{"a\\":"b","c":"\\\\","d":"\\u00e9"}`,
	} {
		f.Add([]byte(seed), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		want := skimIn(data, 1)
		if got := skimIn(data, len(data)+1); got != want {
			t.Fatalf("whole: %s\nbyte by byte: %s", got, want)
		}
		if got := skimIn(data, int(size)+1); got != want {
			t.Fatalf("in pieces of %d: %s\nbyte by byte: %s", int(size)+1, got, want)
		}
		var s jsonSkim
		used, done := s.feed(data)
		n, deepest, ok := objectEnd(data)
		object := len(data) > 0 && (data[0] == '{' || data[0] == '[')
		if ok != (object && done) || ok && (n != used || deepest != s.deepest) {
			t.Fatalf("objectEnd: %d deep %d ok %v; jsonSkim: %d deep %d done %v", n, deepest, ok, used, s.deepest, done)
		}
	})
}

func TestJSONSkimLongestKey(t *testing.T) {
	long := strings.Repeat("k", 200)
	var s jsonSkim
	n, done := s.feed([]byte(`{"a":"xy","` + long + `":"` + strings.Repeat("v", 50) + `","b":"z\"zz"} tail`))
	if !done || s.longest != 50 || string(s.longKey) != long[:maxKeyName] {
		t.Fatalf("n %d done %v longest %d key %q, want the 50-byte value of the key cut to %d bytes",
			n, done, s.longest, s.longKey, maxKeyName)
	}
	if want := len(`{"a":"xy","` + long + `":"` + strings.Repeat("v", 50) + `","b":"z\"zz"}`); n != want {
		t.Fatalf("took %d bytes, want %d", n, want)
	}
}
