package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sys/unix"

	"contextworker/internal/pg"
	ingestdemo "contextworker/modules/ingest/demo"
	dwf "contextworker/workflows/deploy"
	iwf "contextworker/workflows/ingest"
)

// demoIngest ingests the ingest module's sample documents (one poisoned)
// and shows the admitted and quarantined SNOs with their scores.
func (s *Stack) demoIngest(ctx context.Context, c client.Client) (string, error) {
	if err := os.MkdirAll(filepath.Join(s.data, "ingest"), 0o755); err != nil { // modules.ingest.file_root
		return "", err
	}
	db, err := pg.Connect(ctx, s.dsn, 2, 30*time.Second, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	dir := filepath.Join(s.o.Root, "modules", "ingest", "testdata", "samples")
	s.say("ingest demo: ingesting the documents of modules/ingest/testdata/samples as tenant acme, waiting until each is scored…")
	// Demo waits for every document to be scored; a document workflow
	// that fails ends the wait at once, with its error.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.cancelOnFailure(ctx, c, iwf.WorkflowName, time.Now().Add(-time.Second), cancel)
	var b strings.Builder
	if err := ingestdemo.Demo(ctx, c, db, "acme", dir, &b); err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		return b.String(), err
	}
	return b.String(), nil
}

// cancelOnFailure polls visibility for a run of workflowType started after
// since that failed, and cancels with its error.
func (s *Stack) cancelOnFailure(ctx context.Context, c client.Client, workflowType string, since time.Time, cancel context.CancelCauseFunc) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Failed' AND StartTime > '%s'", workflowType, since.UTC().Format(time.RFC3339))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1})
		if err != nil || len(resp.GetExecutions()) == 0 {
			continue
		}
		ex := resp.GetExecutions()[0].GetExecution()
		err = c.GetWorkflow(ctx, ex.GetWorkflowId(), ex.GetRunId()).Get(ctx, nil)
		cancel(fmt.Errorf("workflow %s failed: %w", ex.GetWorkflowId(), err))
		return
	}
}

// Deploy demo: the sample app as a git repository under a path
// modules.deploy.repositories allows, deployed to the local target.
const (
	deployRepo   = "/tmp/cw-deploy-demo/sample-app"
	deployTag    = "v1.0.0"
	deployTarget = "local"
	deployDir    = ".data/deploy/local" // modules.deploy.targets.local.dir
)

// demoDeploy deploys the sample app to the local target, fetches its
// health endpoint once and shows the deploy's audit rows.
func (s *Stack) demoDeploy(ctx context.Context, c client.Client) (string, error) {
	if err := s.sampleRepo(ctx); err != nil {
		return "", err
	}
	in := dwf.Input{TenantID: "acme", Repository: deployRepo, Ref: deployTag, Target: deployTarget, Requester: "make-run"}
	id := dwf.WorkflowID(in.TenantID, in.Target, "sample-app")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: dwf.TaskQueue, StaticSummary: "demo deploy of sample-app to local (make run)",
	}, dwf.WorkflowName, in)
	if err != nil {
		return "", fmt.Errorf("start: %w", err)
	}
	s.deployedApp = filepath.Join(s.o.Root, deployDir)
	s.say("deploy demo: deploying %s@%s to target %s: workflow %s (%s)", deployRepo, deployTag, deployTarget, id, s.uiLink(id, run.GetRunID()))
	var rep dwf.Report
	if err := s.await(ctx, c, id, &rep); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  status %s, release %s", rep.Status, rep.Release)
	if rep.Previous != "" {
		fmt.Fprintf(&b, " (replaced %s)", rep.Previous)
	}
	url := rep.Endpoint
	if url == "" {
		url = "http://127.0.0.1:18080/health"
	}
	if rep.Status == "succeeded" {
		s.appURL = url
	}
	fmt.Fprintf(&b, "\n  the app: %s\n  GET it once: %s\n", url, fetchOnce(ctx, url))
	audit, err := s.deployAudit(ctx, id, run.GetRunID())
	b.WriteString(audit)
	fmt.Fprintf(&b, "  in the Web UI: %s", s.uiLink(id, run.GetRunID()))
	return b.String(), err
}

// sampleRepo makes modules/deploy/testdata/sample-app a git repository
// tagged v1.0.0 at deployRepo, once. Author and dates are fixed, so the
// commit is the same on every machine.
func (s *Stack) sampleRepo(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(deployRepo, ".git")); err == nil {
		return nil
	}
	if err := os.RemoveAll(deployRepo); err != nil {
		return fmt.Errorf("sample repository: %w", err)
	}
	src := filepath.Join(s.o.Root, "modules", "deploy", "testdata", "sample-app")
	if err := os.CopyFS(deployRepo, os.DirFS(src)); err != nil {
		return fmt.Errorf("sample repository: %w", err)
	}
	env := append(os.Environ(), "GIT_AUTHOR_NAME=make run", "GIT_AUTHOR_EMAIL=dev@localhost",
		"GIT_COMMITTER_NAME=make run", "GIT_COMMITTER_EMAIL=dev@localhost",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "sample-app 1.0.0"}, {"tag", deployTag}} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir, cmd.Env = deployRepo, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sample repository: git %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
		}
	}
	s.say("deploy demo: sample-app committed and tagged %s in %s", deployTag, deployRepo)
	return nil
}

// fetchOnce GETs url and describes the answer in one line.
func fetchOnce(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return fmt.Sprintf("%s %s", resp.Status, strings.TrimSpace(string(body)))
}

// deployAudit lists the deploy_audit rows of one deploy run.
func (s *Stack) deployAudit(ctx context.Context, id, runID string) (string, error) {
	db, err := pg.Connect(ctx, s.dsn, 1, 30*time.Second, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.Query(ctx, `SELECT step, phase, array_to_string(argv, ' '), coalesce(exit_code::text, ''),
			coalesce(duration_ms::text, ''), coalesce(refused_rule, ''), coalesce(requester, '')
		FROM deploy_audit WHERE workflow_id = $1 AND run_id = $2 ORDER BY id`, id, runID)
	if err != nil {
		return "", fmt.Errorf("deploy audit: %w", err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "  deploy_audit of this run (SELECT … FROM deploy_audit WHERE workflow_id = '%s' AND run_id = '%s'):\n", id, runID)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tPHASE\tEXIT\tMS\tREQUESTER\tARGV")
	for rows.Next() {
		var step, phase, argv, exit, ms, rule, who string
		if err := rows.Scan(&step, &phase, &argv, &exit, &ms, &rule, &who); err != nil {
			return b.String(), err
		}
		if rule != "" {
			exit = "refused:" + rule
		}
		argv = strings.Join(strings.Fields(argv), " ") // platform scripts span lines
		if len(argv) > 70 {
			argv = argv[:67] + "..."
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", step, phase, exit, ms, who, argv)
	}
	tw.Flush()
	return b.String(), rows.Err()
}

// stopSupervised stops the release the local target at dir supervises
// (run/app.pid: "<pid> <release>", the pid leading its own session), as
// the target's own stop does: TERM to its process group, KILL after 10 s.
// It reports whether it stopped something.
func stopSupervised(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "run", "app.pid"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 1 {
		return false
	}
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		return false // gone, or the pid was reused
	}
	if syscall.Kill(-pid, syscall.SIGTERM) != nil {
		return false
	}
	for range 100 {
		if syscall.Kill(-pid, 0) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // usually gone already
	os.Remove(filepath.Join(dir, "run", "app.pid"))
	return true
}
