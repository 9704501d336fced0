package gardener_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	gwf "contextworker/workflows/gardener"
)

type workerProcess struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan error
}

// startWorker re-executes the test binary as a worker process (TestMain).
func startWorker(t *testing.T, configPath, dsn string) *workerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CW_GARDENER_CHILD=1", "DATABASE_URL="+dsn, "CW_GARDENER_ARGS=worker --config "+configPath)
	w := &workerProcess{cmd: cmd, logs: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // may have exited
		if t.Failed() {
			t.Logf("worker log:\n%s", w.logs.String())
		}
	})
	return w
}

// crashConfig writes the config of a worker run as a child process: a
// batch of 200 products, one activity for the whole run, and a short
// heartbeat timeout, so a killed worker's activity is retried soon.
func (s *stack) crashConfig() string {
	s.t.Helper()
	path := filepath.Join(s.t.TempDir(), "temporal.yaml")
	yml := fmt.Sprintf("temporal: {address: %q, connect_timeout: 20s}\nworker: {shutdown_timeout: 5s}\nlog: {format: text, level: warn}\n%s",
		s.host, s.configYAML())
	yml = replaceOnce(yml, "batch_size: 4\n    batches_per_activity: 2\n    heartbeat_timeout: 5s", "batch_size: 200\n    batches_per_activity: 1000\n    heartbeat_timeout: 3s")
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// killWhenProcessed kills w (SIGKILL: no shutdown) once the products
// processed, as query counts them, reach a third of n.
func (s *stack) killWhenProcessed(ctx context.Context, w *workerProcess, query string, n int64) {
	s.t.Helper()
	var processed int64
	for processed < n/3 {
		select {
		case <-ctx.Done():
			s.t.Fatalf("the run never reached a third of its %d products", n)
		case err := <-w.done:
			s.t.Fatalf("worker exited early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		s.db.QueryRow(ctx, query).Scan(&processed) //nolint:errcheck // retried
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	<-w.done
	s.t.Logf("killed the worker with %d of %d products enriched", processed, n)
}

// TestCrashLosesAndDuplicatesNothing SIGKILLs the worker in the middle of a
// run, starts another, and checks that the run resumed from its checkpoint
// and that every product was enriched and counted exactly once.
func TestCrashLosesAndDuplicatesNothing(t *testing.T) {
	s := newStack(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 20000
	if _, err := s.db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, brand, gtin, price, currency, stock,
			availability, category_path, image_urls, content_hash, first_seen, last_seen, last_run_id)
		SELECT 'big', 's' || (i % 3), lpad(i::text, 7, '0'), 'Hammer ' || i || ' 500 g steel', 'ACME Tools', NULL, 10 + i % 7, 'EUR', i % 4,
			'in_stock', '{Tools,Hammers}', '{https://img.example/x.jpg}', md5(i::text), now(), now(), 'seed'
		FROM generate_series(1, $1) AS i`, n); err != nil {
		t.Fatal(err)
	}
	cfgPath := s.crashConfig()

	first := startWorker(t, cfgPath, s.dsn)
	run := s.startGardener(ctx, gwf.Input{TenantID: "big"})
	s.killWhenProcessed(ctx, first, `SELECT coalesce(max(processed), 0) FROM gardener_runs WHERE tenant_id = 'big'`, n)

	startWorker(t, cfgPath, s.dsn)
	var rep gwf.Report
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("gardener after crash: %v", err)
	}
	if rep.Status != gwf.StatusSucceeded || rep.Processed != n || rep.Batches != n/200 {
		t.Fatalf("report %+v; want %d products in %d batches, each once", rep, n, n/200)
	}
	var brands, distinct, stray int64
	if err := s.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT (supplier_code, sku)),
			count(*) FILTER (WHERE value <> '{"key": "acme tools", "name": "ACME Tools"}' OR run_id <> $1)
		FROM enrichments WHERE tenant_id = 'big' AND field = 'brand'`, rep.RunID).Scan(&brands, &distinct, &stray); err != nil {
		t.Fatal(err)
	}
	if brands != n || distinct != n || stray != 0 {
		t.Fatalf("brand enrichments: %d rows, %d products, %d unexpected; want %d", brands, distinct, stray, n)
	}
	if rep.Written != countRows(ctx, t, s, "big") {
		t.Fatalf("report says %d written, the table holds %d rows", rep.Written, countRows(ctx, t, s, "big"))
	}

	t.Logf("run: %d ms enriching, %d ms writing, %s in all", rep.EnrichMillis, rep.WriteMillis, rep.FinishedAt.Sub(rep.StartedAt))
	again := s.garden(gwf.Input{TenantID: "big"})
	if again.Written != 0 || again.Deleted != 0 || again.Finalized != 0 {
		t.Fatalf("rerun after the crash wrote %+v", again)
	}
}

func countRows(ctx context.Context, t *testing.T, s *stack, tenant string) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM enrichments WHERE tenant_id = $1 AND field NOT LIKE 'quality.price_outlier' AND field <> 'quality.stale_stock'`, tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func replaceOnce(s, old, new string) string {
	i := bytes.Index([]byte(s), []byte(old))
	if i < 0 {
		panic("replaceOnce: " + old + " not found")
	}
	return s[:i] + new + s[i+len(old):]
}
