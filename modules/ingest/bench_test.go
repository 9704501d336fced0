package ingest_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"contextworker/modules/ingest/docgen"
	wf "contextworker/workflows/ingest"
)

// BenchmarkIngestBatch ingests 10k generated documents of about 2 KB with
// ingest-batch on the real stack (worker in this process) and reports
// documents per second, the history length and this process's peak RSS
// (worker plus test harness; PostgreSQL and the dev server are other
// processes). One batch per run, whatever b.N:
//
//	go test -run - -bench IngestBatch -benchtime 1x ./modules/ingest/
func BenchmarkIngestBatch(b *testing.B) {
	const docs, size = 10_000, 2048
	s := newStack(b, "chunk_size: 500\nsub_batch: 100\nwindow: 4\n")
	s.timeout = 15 * time.Minute
	f, err := os.Create(filepath.Join(s.root, "bench.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := docgen.New(7).WriteJSONL(w, docs, size); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	run, rep := s.batch(wf.BatchInput{TenantID: "bench", Source: "bench", JSONL: "bench.jsonl"})
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if rep.Documents != docs {
		b.Fatalf("report %+v", rep)
	}
	events := 0
	it := s.tc.GetWorkflowHistory(s.ctx(), run.GetID(), run.GetRunID(), false, 0)
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			b.Fatal(err)
		}
		events++
	}
	b.ReportMetric(float64(docs)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(events), "history-events")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	// CPU per document of this process (worker, SDK, test client) tells
	// what a busy machine's wall time hides.
	b.ReportMetric(float64(cpu.Microseconds())/1000/docs, "cpu-ms/doc")
	b.Logf("%d documents in %s: %.0f docs/s, %d admitted, %d quarantined, %d history events, %.2f ms of worker CPU per document",
		docs, elapsed.Round(time.Millisecond), float64(docs)/elapsed.Seconds(), rep.Admitted, rep.Quarantined, events,
		float64(cpu.Microseconds())/1000/docs)
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is this process's peak resident set in bytes (VmHWM), 0 when
// unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
