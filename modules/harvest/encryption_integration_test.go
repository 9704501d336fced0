package harvest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"contextworker/internal/codec"
	"contextworker/internal/config"
	"contextworker/internal/dev/devserver"
	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/internal/secret"
	"contextworker/modules/harvest"
	"contextworker/registry"
	wf "contextworker/workflows/harvest"
)

// TestHarvestLeavesNoPlaintextInTemporal harvests a feed with payload
// encryption on, against a dev server of its own that keeps its state in
// SQLite, then greps that database for a SKU of the feed and for the feed's
// host: neither may be there. The workflow id, which is not a payload, must
// be (the control that the grep reads the right file).
func TestHarvestLeavesNoPlaintextInTemporal(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	db := stacktest.DB(t, dsn)
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Exe: filepath.Join(testenv.RepoRoot(t), "bin", "temporal"), DBFile: dbFile, LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sctx, c := context.WithTimeout(context.Background(), 30*time.Second)
			defer c()
			_ = srv.Stop(sctx)
		}
	}
	t.Cleanup(stop)
	t.Logf("integration: own dev server %s persisting to SQLite, database %s", srv.HostPort, db.Config().ConnConfig.Database)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	t.Setenv("CW_TEST_PAYLOAD_KEY", base64.StdEncoding.EncodeToString(key))

	const sku = "SKU-PLAINTEXT-4711"
	feeds := t.TempDir()
	feed := header + strings.Replace(goodRow(1, "9.99"), "SKU-001", sku, 1) + goodRow(2, "5.00")
	if err := os.WriteFile(filepath.Join(feeds, "feed.csv"), []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}
	feedSrv := httptest.NewServer(http.FileServer(http.Dir(feeds)))
	t.Cleanup(feedSrv.Close)
	feedHost := strings.TrimPrefix(feedSrv.URL, "http://")

	reg := registry.New()
	if err := reg.Register(harvest.Module{}); err != nil {
		t.Fatal(err)
	}
	yml := "temporal:\n  encryption:\n    enabled: true\n    current_key_id: k1\n    keys: {k1: env:CW_TEST_PAYLOAD_KEY}\n" +
		"modules:\n  harvest:\n    chain_gardener: false\n    network: {allow_loopback: true}\n"
	stacktest.Worker(t, reg, yml, srv.HostPort, srv.Namespace, dsn)

	// The starter and the CLI encrypt with the same keys; so does this client.
	cdc, err := codec.FromConfig(config.Encryption{Enabled: true, CurrentKeyID: "k1",
		Keys: map[string]secret.Ref{"k1": secret.Env("CW_TEST_PAYLOAD_KEY")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := client.Options{HostPort: srv.HostPort, Namespace: srv.Namespace, Logger: devserver.QuietLogger()}
	codec.Apply(&opts, cdc)
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	in := wf.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: feedSrv.URL + "/feed.csv", Format: "csv"}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "s1"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("harvest: %v", err)
	}
	if rep.Valid != 2 {
		t.Fatalf("report %+v: want 2 valid rows", rep)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM products WHERE sku = $1`, sku).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the SKU is not in the catalogue (%d, %v): the grep below would prove nothing", n, err)
	}
	stop() // flush the SQLite write-ahead log into the files we read

	var stored []byte
	for _, f := range []string{dbFile, dbFile + "-wal"} {
		b, err := os.ReadFile(f)
		if err == nil {
			stored = append(stored, b...)
		}
	}
	if !bytes.Contains(stored, []byte(wf.WorkflowID("acme", "s1"))) {
		t.Fatal("control: the workflow id is not in the dev server's database; the grep reads the wrong file")
	}
	for _, needle := range []string{sku, feedHost} {
		if bytes.Contains(stored, []byte(needle)) {
			t.Errorf("Temporal's database holds %q in plaintext", needle)
		}
	}
}
