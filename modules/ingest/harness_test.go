package ingest_test

import (
	"cmp"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/ingest"
	"contextworker/registry"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// updateHistory rewrites the replay golden files of the ingest workflows
// (workflows/ingest/testdata/) from real runs:
// go test -run 'TestIngest' ./modules/ingest/ -update-history
var updateHistory = flag.Bool("update-history", false, "record the ingest histories used by the replay test")

// stack is a real dev server, a real database and a worker running the
// ingest module in-process, with a file root holding the test corpus.
type stack struct {
	t    testing.TB
	db   *pgxpool.Pool
	tc   client.Client
	root string
	// timeout bounds each step (default one minute).
	timeout time.Duration
}

func newStack(t testing.TB, extraYAML string) *stack {
	t.Helper()
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	hostPort, ns := testenv.Temporal(t)
	s := &stack{t: t, db: stacktest.DB(t, dsn), tc: testenv.TemporalClient(t), root: t.TempDir()}
	copyDir(t, "testdata/poison", s.root)
	reg := registry.New()
	if err := reg.Register(ingest.Module{}); err != nil {
		t.Fatal(err)
	}
	if extraYAML == "" {
		// small chunks, so the corpus spans several in flight at once
		extraYAML = "chunk_size: 4\nsub_batch: 2\nwindow: 2\n"
	}
	yml := "file_root: " + s.root + "\n" + extraYAML
	if !strings.Contains(extraYAML, "review_timeout:") {
		yml += "review_timeout: 1h\n"
	}
	stacktest.Worker(t, reg, "modules:\n  ingest:\n"+stacktest.Indent(yml, "    "), hostPort, ns, dsn)
	return s
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *stack) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(s.timeout, time.Minute))
	s.t.Cleanup(cancel)
	return ctx
}

// saveHistory writes the workflow's history as JSON (the format of
// `temporal workflow show --output json`).
func (s *stack) saveHistory(workflowID, runID, path string) {
	s.t.Helper()
	stacktest.SaveHistory(s.t, s.tc, workflowID, runID, path)
}
