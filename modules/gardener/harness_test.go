package gardener_test

import (
	"context"
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
	"contextworker/modules/gardener"
	"contextworker/modules/harvest"
	"contextworker/registry"
	"contextworker/worker"
	gwf "contextworker/workflows/gardener"
	hwf "contextworker/workflows/harvest"
)

// TestMain doubles as a worker process (harvest and gardener) when
// CW_GARDENER_CHILD is set, so the crash test can SIGKILL a real worker.
func TestMain(m *testing.M) {
	if os.Getenv("CW_GARDENER_CHILD") == "1" {
		os.Exit(worker.Main(newRegistry(), strings.Fields(os.Getenv("CW_GARDENER_ARGS"))))
	}
	testenv.Main(m)
}

func newRegistry() *registry.Registry {
	reg := registry.New()
	for _, m := range []registry.Module{harvest.Module{}, gardener.Module{}} {
		if err := reg.Register(m); err != nil {
			panic(err)
		}
	}
	return reg
}

// gardenerYAML is the gardener section the tests run with. No overlap: an
// incremental run reads only what changed since the last one, as the tests
// expect it to.
const gardenerYAML = `batch_size: 4
batches_per_activity: 2
heartbeat_timeout: 5s
watermark_overlap: 0s
enrichers:
  - name: category
    config:
      taxonomy:
        - Tools > Hand Tools > Hammers
        - Tools > Power Tools > Drills
        - Garden > Hoses
      rules:
        - {prefix: "Werkzeug > Bohrer", category: "Tools > Power Tools > Drills"}
  - name: brand
    config:
      aliases:
        Bosch: [Robert Bosch, BOSCH Professional]
  - name: attributes
  - name: duplicates
  - name: quality
    config: {outlier_factor: 2, outlier_min_group: 3}
`

// stack is a real dev server, a real database, and a worker running the
// harvest and gardener modules in-process, plus a loopback feed server.
type stack struct {
	t      *testing.T
	db     *pgxpool.Pool
	tc     client.Client
	feeds  string
	server *httptest.Server
	dsn    string
	host   string
}

func newStack(t *testing.T, startWorker bool) *stack {
	t.Helper()
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	hostPort, ns := testenv.Temporal(t)
	db := stacktest.DB(t, dsn)
	s := &stack{t: t, db: db, tc: testenv.TemporalClient(t), feeds: t.TempDir(), dsn: dsn, host: hostPort}
	s.server = httptest.NewServer(http.FileServer(http.Dir(s.feeds)))
	t.Cleanup(s.server.Close)
	if !startWorker {
		return s
	}
	stacktest.Worker(t, newRegistry(), s.configYAML(), hostPort, ns, dsn)
	return s
}

// configYAML turns harvest's chaining off so each test decides when the
// gardener runs; the harvest module's tests cover chaining.
func (s *stack) configYAML() string {
	return "modules:\n  harvest:\n    batch_size: 100\n    chain_gardener: false\n    max_deactivate_share: 1\n    network: {allow_loopback: true}\n  gardener:\n" + stacktest.Indent(gardenerYAML, "    ")
}

func (s *stack) serve(name, content string) string {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.feeds, name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return s.server.URL + "/" + name
}

func (s *stack) harvest(supplier, feed string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := hwf.Input{TenantID: "acme", SupplierCode: supplier, FeedURL: s.serve(supplier+".csv", feed), Format: "csv", Force: true}
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: hwf.WorkflowID("acme", supplier), TaskQueue: hwf.TaskQueue}, hwf.WorkflowName, in)
	if err != nil {
		s.t.Fatal(err)
	}
	var rep hwf.Report
	if err := run.Get(ctx, &rep); err != nil || rep.Status != hwf.StatusSucceeded {
		s.t.Fatalf("harvest %s: %+v %v", supplier, rep, err)
	}
}

func (s *stack) startGardener(ctx context.Context, in gwf.Input) client.WorkflowRun {
	s.t.Helper()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: gwf.WorkflowID(in.TenantID), TaskQueue: gwf.TaskQueue}, gwf.WorkflowName, in)
	if err != nil {
		s.t.Fatal(err)
	}
	return run
}

func (s *stack) garden(in gwf.Input) gwf.Report {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rep gwf.Report
	if err := s.startGardener(ctx, in).Get(ctx, &rep); err != nil {
		s.t.Fatalf("gardener: %v", err)
	}
	if rep.Status != gwf.StatusSucceeded {
		s.t.Fatalf("gardener: status %s: %s", rep.Status, rep.Error)
	}
	return rep
}

// enrichment is one stored field with its provenance.
type enrichment struct {
	value, enricher, version, runID string
}

func (s *stack) enrichments(tenant string) map[string]enrichment {
	s.t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT supplier_code || '/' || sku || ' ' || field, value::text, enricher, enricher_version, run_id
		FROM enrichments WHERE tenant_id = $1`, tenant)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	out := make(map[string]enrichment)
	for rows.Next() {
		var k string
		var e enrichment
		if err := rows.Scan(&k, &e.value, &e.enricher, &e.version, &e.runID); err != nil {
			s.t.Fatal(err)
		}
		out[k] = e
	}
	return out
}
