package harvest_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/harvest"
	"contextworker/registry"
	"contextworker/worker"
	wf "contextworker/workflows/harvest"
)

// TestMain doubles as a harvest worker process when CW_HARVEST_CHILD is
// set, so the crash test can SIGKILL a real worker.
func TestMain(m *testing.M) {
	if os.Getenv("CW_HARVEST_CHILD") == "1" {
		reg := registry.New()
		if err := reg.Register(harvest.Module{}); err != nil {
			panic(err)
		}
		os.Exit(worker.Main(reg, strings.Fields(os.Getenv("CW_HARVEST_ARGS"))))
	}
	testenv.Main(m)
}

// stack is a real dev server, a real database, a worker running the harvest
// module in-process, and a loopback HTTP server for feeds.
type stack struct {
	t      *testing.T
	db     *pgxpool.Pool
	tc     client.Client
	feeds  string
	server *httptest.Server
}

func newStack(t *testing.T, moduleYAML string) *stack {
	t.Helper()
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	hostPort, ns := testenv.Temporal(t)
	db := stacktest.DB(t, dsn)
	t.Logf("integration: dev server %s, database %s", hostPort, db.Config().ConnConfig.Database)

	s := &stack{t: t, db: db, tc: testenv.TemporalClient(t), feeds: t.TempDir()}
	s.server = httptest.NewServer(http.FileServer(http.Dir(s.feeds)))
	t.Cleanup(s.server.Close)

	reg := registry.New()
	if err := reg.Register(harvest.Module{}); err != nil {
		t.Fatal(err)
	}
	yml := "modules:\n  harvest:\n" + stacktest.Indent(moduleYAML, "    ") +
		"    network: {allow_loopback: true}\n"
	stacktest.Worker(t, reg, yml, hostPort, ns, dsn)
	return s
}

// serve publishes a feed file and returns its URL.
func (s *stack) serve(name, content string) string {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.feeds, name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return s.server.URL + "/" + name
}

// harvest runs a harvest to completion with the canonical id.
func (s *stack) harvest(in wf.Input) (*wf.Report, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf.WorkflowID(in.TenantID, in.SupplierCode), TaskQueue: wf.TaskQueue,
	}, wf.WorkflowName, in)
	if err != nil {
		s.t.Fatalf("start: %v", err)
	}
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// catalogue returns a digest of the supplier's products: sku → content
// hash and active flag, plus the row count.
func (s *stack) catalogue(tenant, supplier string) map[string]string {
	s.t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT sku, content_hash, active, price::text, last_run_id FROM products
		WHERE tenant_id = $1 AND supplier_code = $2`, tenant, supplier)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	out := make(map[string]string)
	for rows.Next() {
		var sku, hash, price, run string
		var active bool
		if err := rows.Scan(&sku, &hash, &active, &price, &run); err != nil {
			s.t.Fatal(err)
		}
		out[sku] = hash + "|" + price + "|" + run + map[bool]string{true: "|active", false: "|inactive"}[active]
	}
	return out
}

// updateHistory rewrites the replay golden file of the harvest workflow
// (workflows/harvest/testdata/) from a real run: go test -run
// TestHarvestEndToEnd ./modules/harvest/ -update-history
var updateHistory = flag.Bool("update-history", false, "record the harvest history used by the replay test")

// saveHistory writes the workflow's history as JSON (the format of
// `temporal workflow show --output json`).
func (s *stack) saveHistory(workflowID, runID, path string) {
	s.t.Helper()
	stacktest.SaveHistory(s.t, s.tc, workflowID, runID, path)
}
