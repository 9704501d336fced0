package harvest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"contextworker/internal/dev/testenv"
	"contextworker/internal/pg"
	wf "contextworker/workflows/harvest"
)

// peakRSS returns a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to measure the worker's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestHugeFieldsKeepTheWorkerWithinItsMemoryLimit: a gzipped feed whose
// rows hold 32 MiB fields (tiny on the wire) once grew the worker past
// 3 GiB. The worker process (a real one, its peak RSS measured) now stays
// under its configured memory limit, and the run rejects those rows with
// their reason and harvests the rest; so does a deeply nested XML product.
func TestHugeFieldsKeepTheWorkerWithinItsMemoryLimit(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	hostPort, _ := testenv.Temporal(t)
	tc := testenv.TemporalClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := pg.Connect(ctx, dsn, 4, 30*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := pg.Migrate(ctx, db, nil); err != nil {
		t.Fatal(err)
	}

	const huge, good, limitMiB = 12, 40, 160
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(header))
	field := bytes.Repeat([]byte("x"), 32<<20)
	for i := 1; i <= good; i++ {
		zw.Write([]byte(goodRow(i, "1.00")))
		if i%(good/huge) == 0 && i/(good/huge) <= huge {
			fmt.Fprintf(zw, "HUGE-%d,", i)
			zw.Write(field)
			zw.Write([]byte(",Acme,,1.00,EUR,1,Tools,https://shop.example/h,\n"))
		}
	}
	zw.Close()
	t.Logf("feed: %d rows of 32 MiB fields among %d good rows, %d bytes gzipped", huge, good, zipped.Len())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(zipped.Bytes())
	}))
	defer srv.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "temporal.yaml")
	yml := fmt.Sprintf(`temporal: {address: %q, connect_timeout: 20s}
worker: {shutdown_timeout: 5s, memory_limit_mib: %d}
log: {format: text, level: warn}
modules:
  harvest:
    batch_size: 100
    network: {allow_loopback: true}
`, hostPort, limitMiB)
	if err := os.WriteFile(cfgPath, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, cfgPath, dsn)
	in := wf.Input{TenantID: "acme", SupplierCode: "huge", FeedURL: srv.URL + "/feed.csv.gz", Format: "csv"}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(in.TenantID, in.SupplierCode), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("harvest: %v", err)
	}
	if rss := peakRSS(t, w.cmd.Process.Pid); rss > limitMiB<<20 {
		t.Fatalf("worker peak RSS %d MiB, over its memory limit %d MiB", rss>>20, limitMiB)
	} else {
		t.Logf("worker peak RSS %d MiB (limit %d MiB)", rss>>20, limitMiB)
	}
	if rep.Inserted != good || rep.Rejected != huge {
		t.Fatalf("report %+v: want %d inserted, %d rejected", rep, good, huge)
	}
	var reason string
	var longestRaw int
	if err := db.QueryRow(ctx, `SELECT min(reason), max(length(raw)) FROM harvest_rejects WHERE run_id = $1`, rep.RunID).Scan(&reason, &longestRaw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "33554432 bytes, over the limit") || !strings.Contains(reason, "modules.harvest.max_field_bytes") {
		t.Fatalf("reject reason %q should say the field is too large", reason)
	}
	if longestRaw > 1024 {
		t.Fatalf("a reject keeps %d bytes of its row, want at most 1 KiB", longestRaw)
	}

	// A product nested 30,000 levels deep (210 KB) once cost 980 MB: now
	// it is rejected by max_depth and the others are harvested.
	var xml strings.Builder
	xml.WriteString("<catalog>")
	product := func(i int) string {
		return fmt.Sprintf("<product><sku>D-%d</sku><name>Deep %d</name><price>1.00</price><currency>EUR</currency></product>", i, i)
	}
	xml.WriteString(product(1))
	xml.WriteString("<product><sku>D-DEEP</sku>" + strings.Repeat("<x>", 30000) + "v" + strings.Repeat("</x>", 30000) + "</product>")
	for i := 2; i <= 5; i++ {
		xml.WriteString(product(i))
	}
	xml.WriteString("</catalog>")
	deep := []byte(xml.String())
	xsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write(deep)
	}))
	defer xsrv.Close()
	in = wf.Input{TenantID: "acme", SupplierCode: "deep", FeedURL: xsrv.URL + "/deep.xml", Format: "xml", RecordElement: "product"}
	run, err = tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(in.TenantID, in.SupplierCode), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, &rep); err != nil || rep.Inserted != 5 || rep.Rejected != 1 {
		t.Fatalf("deep xml: %+v, %v; want 5 inserted, 1 rejected", rep, err)
	}
	if err := db.QueryRow(ctx, `SELECT reason FROM harvest_rejects WHERE run_id = $1`, rep.RunID).Scan(&reason); err != nil ||
		!strings.Contains(reason, "nested deeper than 32") || !strings.Contains(reason, "modules.harvest.max_depth") {
		t.Fatalf("deep xml reject reason = %q, %v; want nested deeper than 32 (modules.harvest.max_depth)", reason, err)
	}
	if rss := peakRSS(t, w.cmd.Process.Pid); rss > limitMiB<<20 {
		t.Fatalf("worker peak RSS %d MiB after the deep XML feed, over its memory limit %d MiB", rss>>20, limitMiB)
	}
}
