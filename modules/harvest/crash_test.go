package harvest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"contextworker/internal/dev/feedgen"
	"contextworker/internal/dev/testenv"
	"contextworker/internal/pg"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// slowFile serves a file at a bounded rate, so a harvest is still staging
// when the test kills the worker.
type slowFile struct {
	*os.File
	delay time.Duration
}

func (s slowFile) Read(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.File.Read(p[:min(len(p), 64<<10)])
}

// workerProcess is the test binary re-executed as a harvest worker.
type workerProcess struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan error
}

func startWorker(t *testing.T, configPath, dsn string) *workerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CW_HARVEST_CHILD=1", "DATABASE_URL="+dsn,
		"CW_HARVEST_ARGS=worker --config "+configPath)
	w := &workerProcess{cmd: cmd, logs: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // may have exited
		if t.Failed() {
			t.Logf("worker log:\n%s", tail(w.logs.String(), 4000))
		}
	})
	return w
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestCrashResumesFromCheckpoint SIGKILLs the worker process in the middle
// of staging a large feed, starts a new one, and checks that the run
// resumed from its checkpoint and that the table equals the feed exactly:
// every valid row once, with the feed's content, and every bad row rejected
// once.
func TestCrashResumesFromCheckpoint(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	hostPort, _ := testenv.Temporal(t)
	tc := testenv.TemporalClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	db, err := pg.Connect(ctx, dsn, 4, 30*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := pg.Migrate(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("integration: dev server %s, worker processes killed with SIGKILL", hostPort)

	dir := t.TempDir()
	opts := feedgen.Options{N: 120000, Seed: 7, BadShare: 0.01, Format: "csv"}
	feedPath := filepath.Join(dir, "big.csv")
	f, err := os.Create(feedPath)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := feedgen.Write(f, opts)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fh, err := os.Open(feedPath)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer fh.Close()
		st, _ := fh.Stat()
		w.Header().Set("ETag", fmt.Sprintf(`"%d-%d"`, st.Size(), st.ModTime().UnixNano()))
		http.ServeContent(w, r, "big.csv", st.ModTime(), slowFile{File: fh, delay: 4 * time.Millisecond})
	}))
	defer srv.Close()

	cfgPath := filepath.Join(dir, "temporal.yaml")
	yml := fmt.Sprintf(`temporal: {address: %q, connect_timeout: 20s}
worker: {shutdown_timeout: 5s}
log: {format: text, level: warn}
modules:
  harvest:
    batch_size: 2000
    partitions: 6
    parallelism: 3
    heartbeat_timeout: 4s
    network: {allow_loopback: true}
`, hostPort)
	if err := os.WriteFile(cfgPath, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}

	first := startWorker(t, cfgPath, dsn)
	in := wf.Input{TenantID: "acme", SupplierCode: "big", FeedURL: srv.URL + "/big.csv", Format: "csv"}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "big"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	// Kill once a third of the feed is staged and checkpointed.
	var staged int64
	for staged < int64(opts.N/3) {
		select {
		case <-ctx.Done():
			t.Fatal("staging never reached a third of the feed")
		case err := <-first.done:
			t.Fatalf("worker exited early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		db.QueryRow(ctx, `SELECT coalesce(max(rows_consumed), 0) FROM harvest_stage_progress`).Scan(&staged) //nolint:errcheck // retried
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	t.Logf("killed the worker with %d of %d rows staged", staged, opts.N)

	startWorker(t, cfgPath, dsn)
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("harvest after crash: %v", err)
	}
	if rep.Status != wf.StatusSucceeded {
		t.Fatalf("status %s: %s", rep.Status, rep.Error)
	}
	if rep.StageAttempt < 2 || rep.ResumedFrom < staged {
		t.Fatalf("stage attempts %d, resumed from row %d; want a second attempt resuming at or after row %d", rep.StageAttempt, rep.ResumedFrom, staged)
	}
	if rep.RowsRead != int64(stats.Records) || rep.Valid != int64(stats.Valid) || rep.Rejected != int64(stats.Bad) || rep.Inserted != int64(stats.Valid) {
		t.Fatalf("report %+v\ndoes not match the feed: %d records, %d valid, %d bad", rep, stats.Records, stats.Valid, stats.Bad)
	}
	assertTableEqualsFeed(ctx, t, db, feedPath, opts, rep.RunID)
}

// assertTableEqualsFeed re-reads the feed, normalises every record and
// compares it with the products and rejects tables, row by row.
func assertTableEqualsFeed(ctx context.Context, t *testing.T, db *pgxpool.Pool, path string, opts feedgen.Options, runID string) {
	t.Helper()
	want := make(map[string]string)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	bad := 0
	eachCSVProduct(t, bufio.NewReader(fh), func(p product.Product, err error) {
		if err != nil {
			bad++
			return
		}
		text, _ := p.StoredHash()
		want[p.SKU] = string(text[:])
	})
	for i := range opts.N {
		if sku, valid := feedgen.Record(opts, i); valid && want[sku] == "" {
			t.Fatalf("generator says %s is valid but it did not normalise", sku)
		}
	}
	var total, distinct int64
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT sku) FROM products WHERE tenant_id = 'acme' AND supplier_code = 'big'`).Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	if total != int64(len(want)) || distinct != total {
		t.Fatalf("products: %d rows, %d distinct skus; want %d", total, distinct, len(want))
	}
	rows, err := db.Query(ctx, `SELECT sku, content_hash FROM products WHERE tenant_id = 'acme' AND supplier_code = 'big'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sku, hash string
		if err := rows.Scan(&sku, &hash); err != nil {
			t.Fatal(err)
		}
		if want[sku] != hash {
			t.Fatalf("product %s: content hash %s, feed says %s", sku, hash, want[sku])
		}
	}
	var rejects int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM harvest_rejects WHERE run_id = $1`, runID).Scan(&rejects); err != nil {
		t.Fatal(err)
	}
	if rejects != bad {
		t.Fatalf("rejects: %d rows, want %d", rejects, bad)
	}
}

// eachCSVProduct reads a CSV feed and calls each with every record's
// product as the harvest normalises it, or why it rejects the record.
func eachCSVProduct(t *testing.T, in io.Reader, each func(product.Product, error)) {
	t.Helper()
	r, err := feed.Open(in, feed.Options{Format: feed.CSV})
	if err != nil {
		t.Fatal(err)
	}
	norm, err := product.NewNormalizer(product.Options{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		each(norm.Normalize(rec))
	}
}
