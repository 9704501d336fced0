package feed

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// TestByteDecoderIsCharmaps: for every charmap x/text has, byteDecoder
// writes the UTF-8 x/text's decoder writes, whatever the text, however it
// is read, into however little room.
func TestByteDecoderIsCharmaps(t *testing.T) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mostly := make([]byte, 1<<16) // ASCII runs of any length between other bytes
	for i := range mostly {
		if rng.IntN(12) == 0 {
			mostly[i] = byte(rng.IntN(256))
		} else {
			mostly[i] = byte(rng.IntN(128))
		}
	}
	tested := 0
	for _, enc := range charmap.All {
		m, ok := enc.(*charmap.Charmap)
		if !ok {
			continue
		}
		tested++
		for _, src := range [][]byte{every, mostly, bytes.Repeat([]byte("<offer>"), 100)} {
			want, err := io.ReadAll(m.NewDecoder().Reader(bytes.NewReader(src)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(transform.NewReader(iotest.HalfReader(bytes.NewReader(src)), newByteDecoder(m)))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: decoded %d bytes (%v), x/text %d: first difference at %d", m, len(got), err, len(want), firstDiff(got, want))
			}
			// Into little room at a time: every ErrShortDst resumes where
			// it stopped.
			for room := 1; room <= 9; room++ {
				if got := transformInRoom(t, newByteDecoder(m), src, room); !bytes.Equal(got, want) {
					t.Fatalf("%s, %d bytes of room: first difference at %d", m, room, firstDiff(got, want))
				}
			}
		}
	}
	if tested < 20 {
		t.Fatalf("only %d charmaps tested", tested)
	}
}

// transformInRoom runs tr over src with a destination of room bytes.
func transformInRoom(t *testing.T, tr transform.Transformer, src []byte, room int) []byte {
	t.Helper()
	var out []byte
	dst := make([]byte, room)
	for len(src) > 0 {
		nDst, nSrc, err := tr.Transform(dst, src, true)
		out, src = append(out, dst[:nDst]...), src[nSrc:]
		switch {
		case errors.Is(err, transform.ErrShortDst) && (nDst > 0 || nSrc > 0 || room >= 4):
			if nDst == 0 && nSrc == 0 {
				t.Fatalf("no progress with %d bytes of room", room)
			}
		case errors.Is(err, transform.ErrShortDst):
			// A character longer than the room: x/text's decoder stops
			// there too; give it more.
			return append(out, transformInRoom(t, tr, src, room+1)...)
		case err != nil:
			t.Fatal(err)
		}
	}
	return out
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func BenchmarkByteDecoder(b *testing.B) {
	src := bytes.Repeat([]byte(`<offer id="1"><name>Ремень кожаный</name><price>100</price></offer>`), 4096)
	src, _ = charmap.Windows1251.NewEncoder().Bytes(src)
	for _, d := range []struct {
		name string
		tr   func() transform.Transformer
	}{
		{"x/text", func() transform.Transformer { return charmap.Windows1251.NewDecoder() }},
		{"byteDecoder", func() transform.Transformer { return newByteDecoder(charmap.Windows1251) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := io.Copy(io.Discard, transform.NewReader(bytes.NewReader(src), d.tr())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
