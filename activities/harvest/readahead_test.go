package harvest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"
)

// TestReadAhead: the bytes arrive whole and in order, whatever the sizes
// of the source's Reads and the reader's, and the source's error after the
// bytes read before it.
func TestReadAhead(t *testing.T) {
	data := make([]byte, 3*aheadBlockSize+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	broken := errors.New("broken off")
	for _, c := range []struct {
		name string
		src  io.Reader
		want error
	}{
		{"whole", bytes.NewReader(data), nil},
		{"one byte a read", iotest.OneByteReader(bytes.NewReader(data)), nil},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(data)), nil},
		{"broken off", io.MultiReader(bytes.NewReader(data), iotest.ErrReader(broken)), broken},
	} {
		t.Run(c.name, func(t *testing.T) {
			ra := newReadAhead(c.src)
			defer ra.Close()
			var got bytes.Buffer
			buf := make([]byte, 7777)
			var err error
			for err == nil {
				var n int
				n, err = ra.Read(buf[:1+rng.IntN(len(buf))])
				got.Write(buf[:n])
			}
			if c.want == nil && err != io.EOF || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("read %d bytes, not the %d of the source", got.Len(), len(data))
			}
			if _, again := ra.Read(buf); again != err {
				t.Errorf("read after the end: %v, want %v again", again, err)
			}
		})
	}
}

// TestReadAheadClose: a reader that stops early and closes lets the
// goroutine go, whether it waits to hand a block over or sits in its
// source's Read until the source is closed.
func TestReadAheadClose(t *testing.T) {
	ra := newReadAhead(bytes.NewReader(make([]byte, 10*aheadBlockSize)))
	if _, err := ra.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	waitDone(t, ra)

	pr, pw := io.Pipe()
	ra = newReadAhead(pr)
	// Once the goroutine has these bytes it reads on for the rest of its
	// block, checking for Close only when it hands the block over.
	if _, err := pw.Write([]byte("some bytes")); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	select {
	case <-ra.done:
		t.Fatal("the goroutine returned while its source's Read was still waiting")
	case <-time.After(50 * time.Millisecond):
	}
	pw.CloseWithError(errors.New("closed")) // as Stage's src.Close does
	waitDone(t, ra)
	if _, err := ra.Read(make([]byte, 10)); err == nil {
		t.Error("a closed readAhead read on")
	}
}

func waitDone(t *testing.T, ra *readAhead) {
	t.Helper()
	select {
	case <-ra.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the read-ahead goroutine did not return after Close")
	}
}
