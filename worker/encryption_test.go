package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	deployacts "contextworker/activities/deploy"
	gardeneracts "contextworker/activities/gardener"
	harvestacts "contextworker/activities/harvest"
	ingestacts "contextworker/activities/ingest"
	"contextworker/internal/codec"
	"contextworker/internal/config"
	"contextworker/internal/dev/localpg"
	"contextworker/internal/secret"
	"contextworker/registry"
)

// vaultModule's workflow carries its secret everywhere the data converter
// reaches: input, result, memo, current details, activity summary, activity
// input and result, heartbeat details and a failure message.
type vaultModule struct{ secret string }

func (m *vaultModule) Name() string      { return "vault" }
func (m *vaultModule) TaskQueue() string { return "vault-queue" }
func (m *vaultModule) Workflows() []registry.Workflow {
	return []registry.Workflow{{Name: "vault-wf", Input: func() any { return new(string) }}}
}
func (m *vaultModule) Activities() []string  { return []string{"vault.work"} }
func (m *vaultModule) Needs() registry.Needs { return registry.Needs{} }
func (m *vaultModule) NewConfig() any        { return nil }
func (m *vaultModule) Register(_ context.Context, deps registry.Deps, r sdkworker.Registry) error {
	// The modules' own metrics as their Register makes them, so the scrape
	// holds their names (their activities need PostgreSQL, not started here).
	for _, reg := range []func(prometheus.Registerer) error{
		func(r prometheus.Registerer) error { _, err := harvestacts.NewMetrics(r); return err },
		func(r prometheus.Registerer) error { _, err := gardeneracts.NewMetrics(r); return err },
		func(r prometheus.Registerer) error { _, err := ingestacts.NewMetrics(r); return err },
		func(r prometheus.Registerer) error { _, err := deployacts.NewMetrics(r); return err },
	} {
		if err := reg(deps.Metrics); err != nil {
			return err
		}
	}
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in string) (string, error) {
		if strings.HasPrefix(in, "FAIL") {
			return "", temporal.NewNonRetryableApplicationError("refused "+in, "Refused", nil)
		}
		workflow.SetCurrentDetails(ctx, "details "+in)
		if err := workflow.UpsertMemo(ctx, map[string]any{"note": "memo " + in}); err != nil {
			return "", err
		}
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			Summary:             "summary " + in,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 3},
		})
		var out string
		err := workflow.ExecuteActivity(ctx, "vault.work", in).Get(ctx, &out)
		return out + " result", err
	}, workflow.RegisterOptions{Name: "vault-wf"})
	r.RegisterActivityWithOptions(func(ctx context.Context, in string) (string, error) {
		activity.RecordHeartbeat(ctx, "heartbeat "+in)
		if activity.GetInfo(ctx).Attempt == 1 {
			return "", temporal.NewApplicationError("upstream refused "+in, "Flaky")
		}
		return "activity " + in, nil
	}, activity.RegisterOptions{Name: "vault.work"})
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := localpg.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// runInProcess runs Run in-process until the test ends.
func runInProcess(t *testing.T, cfg *config.Config, env secret.Lookup, mods ...registry.Module) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		done <- Run(ctx, Options{Config: cfg, Modules: mods, Logger: logger, Env: env, Ready: func() { close(ready) }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("worker did not start: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("worker not ready")
	}
}

// TestEncryptedPayloadsAndMetrics runs a workflow through an in-process
// worker with encryption on and /metrics served, against a dev server
// that persists to SQLite. Then:
//   - Temporal's database files hold none of the workflow's secret, while a
//     plaintext control input written to the same database is found there
//     (so the search would have seen a leak);
//   - the history's payloads carry the codec's encoding;
//   - /metrics shows the SDK's temporal_* metrics, and every metric the
//     Grafana dashboard uses.
func TestEncryptedPayloadsAndMetrics(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	hostPort := ownDevServer(t, dbFile)
	t.Logf("integration: own dev server %s persisting to SQLite, in-process worker with encryption and /metrics", hostPort)

	rawKey := make([]byte, codec.KeySize)
	rand.Read(rawKey) //nolint:errcheck // never fails
	env := func(k string) (string, bool) {
		if k == "TEST_PAYLOAD_KEY" {
			return base64.StdEncoding.EncodeToString(rawKey), true
		}
		return "", false
	}
	cfg := config.Default()
	cfg.Temporal.Address = hostPort
	cfg.Temporal.ConnectTimeout = 30 * time.Second
	cfg.Temporal.Encryption.Enabled = true
	cfg.Temporal.Encryption.CurrentKeyID = "test-1"
	cfg.Temporal.Encryption.Keys = map[string]secret.Ref{"test-1": secret.Env("TEST_PAYLOAD_KEY")}
	cfg.Worker.MetricsAddr = freeAddr(t)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	const secretValue = "sku-CONFIDENTIAL-8812 https://feeds.secret-supplier.example/p.csv"
	runInProcess(t, cfg, env, &vaultModule{})

	cdc, err := codec.FromConfig(cfg.Temporal.Encryption, env)
	if err != nil {
		t.Fatal(err)
	}
	opts := client.Options{HostPort: hostPort, Namespace: "default"}
	codec.Apply(&opts, cdc)
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plain, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "vault-1", TaskQueue: "vault-queue", StaticSummary: "static " + secretValue,
		Memo: map[string]any{"start": "memo " + secretValue},
	}, "vault-wf", secretValue)
	if err != nil {
		t.Fatal(err)
	}
	var result string
	if err := run.Get(ctx, &result); err != nil {
		t.Fatal(err)
	}
	if want := "activity " + secretValue + " result"; result != want {
		t.Fatalf("result %q, want %q", result, want)
	}

	// A failed workflow: its failure message is encrypted too.
	failed, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "vault-2", TaskQueue: "vault-queue"}, "vault-wf", "FAIL "+secretValue)
	if err != nil {
		t.Fatal(err)
	}
	var appErr *temporal.ApplicationError
	if err := failed.Get(ctx, nil); !errors.As(err, &appErr) || !strings.Contains(appErr.Error(), secretValue) {
		t.Fatalf("failed workflow: %v; want the decrypted failure message", err)
	}

	// The history as any client without the key sees it.
	iter := plain.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var encrypted int
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := proto.Marshal(ev)
		if bytes.Contains(b, []byte("CONFIDENTIAL")) {
			t.Errorf("history event %s holds the secret in plaintext", ev.GetEventType())
		}
		encrypted += bytes.Count(b, []byte(codec.EncodingEncrypted))
	}
	if encrypted < 6 {
		t.Errorf("only %d encrypted payloads in the history", encrypted)
	}

	// A control: a plaintext input stored by a client without the codec.
	const control = "CONTROL-PLAINTEXT-5521"
	if _, err := plain.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "control-1", TaskQueue: "nobody-polls"}, "control-wf", control); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the control input in the database files", func() bool {
		return dbContains(t, dbFile, control)
	})
	if dbContains(t, dbFile, "CONFIDENTIAL") || dbContains(t, dbFile, "secret-supplier") {
		t.Fatal("Temporal's SQLite database holds the secret in plaintext")
	}

	scrapeMetrics(ctx, t, cfg.Worker.MetricsAddr)
}

// dbContains searches the SQLite database and its WAL/SHM files. A
// rollback journal (-journal) lives for one transaction of the running
// server: one listed may be gone when it is read, and is then skipped.
func dbContains(t *testing.T, dbFile, s string) bool {
	t.Helper()
	files, err := filepath.Glob(dbFile + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files at %s: %v", dbFile, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) && f != dbFile {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}
