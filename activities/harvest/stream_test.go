package harvest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"contextworker/internal/dev/feedgen"
)

// copyStreams runs a producer on CSV data into batches of size rows that
// streams goroutines read as COPY does (64 KiB at a time), and gives each
// batch's bytes to sink, on the reading goroutine, with the batch's lo.
func copyStreams(t testing.TB, data []byte, o producerOptions, streams, size int, sink func(lo int64, b []byte)) {
	t.Helper()
	p := startCSV(t, data, o)
	batches := make(chan *batchSource)
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for b := range batches {
				for {
					n, err := b.Read(buf)
					sink(b.lo, buf[:n])
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Error(err)
						b.drain()
						break
					}
				}
			}
		})
	}
	err := cut(context.Background(), p.out, 0, size, batches)
	close(batches)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCopyStreamsReuseBlocks: what two COPY streams read, while the blocks
// of the tuples they have read go back to the pool and take later chunks'
// tuples, is byte for byte the tuples of a producer whose blocks are never
// reused, in feed order. A block released before its last tuple was read
// would show here as another row's bytes.
func TestCopyStreamsReuseBlocks(t *testing.T) {
	data := generated(t, feedgen.Options{N: 40000, Seed: 5, BadShare: 0.01, Format: "csv"})
	o := producerOptions{parts: 8, load: true}
	items, _ := produce(t, data, o) // kept: their blocks are never released
	var want []byte
	for _, it := range items {
		want = append(want, it.tuple...)
	}

	// The streams read slowly, so that the normalisers, ahead of them,
	// reuse each block as soon as the pool has it back.
	var mu sync.Mutex
	got := map[int64][]byte{}
	copyStreams(t, data, o, 2, 3000, func(lo int64, b []byte) {
		time.Sleep(300 * time.Microsecond)
		mu.Lock()
		got[lo] = append(got[lo], b...)
		mu.Unlock()
	})
	var all []byte
	for _, lo := range slices.Sorted(maps.Keys(got)) {
		b := got[lo]
		if !bytes.HasPrefix(b, copyHeader) || !bytes.HasSuffix(b, copyTrailer) {
			t.Fatalf("batch after row %d: no COPY header or trailer", lo)
		}
		all = append(all, b[len(copyHeader):len(b)-len(copyTrailer)]...)
	}
	if len(got) < 10 {
		t.Fatalf("%d batches of 3000 rows for 40000", len(got))
	}
	if !bytes.Equal(all, want) {
		i := 0
		for i < min(len(all), len(want)) && all[i] == want[i] {
			i++
		}
		t.Fatalf("streams read %d bytes, the producer made %d; first difference at byte %d", len(all), len(want), i)
	}
}

// BenchmarkProducerCopy is the Go side of a first load: normalising and
// encoding, and two COPY streams reading the tuples (into nothing).
func BenchmarkProducerCopy(b *testing.B) {
	data := generated(b, feedgen.Options{N: 100000, Seed: 1, BadShare: 0.01, Format: "csv"})
	b.ResetTimer()
	began := cpuTime(b)
	for range b.N {
		copyStreams(b, data, producerOptions{parts: 8, load: true}, 2, 20000, func(int64, []byte) {})
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((cpuTime(b)-began).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(t testing.TB) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		t.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
