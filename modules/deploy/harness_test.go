package deploy_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"golang.org/x/sys/unix"

	"contextworker/internal/dev/sshd"
	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/deploy"
	"contextworker/registry"
	"contextworker/worker"
	wf "contextworker/workflows/deploy"
)

// TestMain doubles as a deploy worker process when CW_DEPLOY_CHILD is set.
func TestMain(m *testing.M) {
	if os.Getenv("CW_DEPLOY_CHILD") == "1" {
		os.Exit(worker.Main(newRegistry(), strings.Fields(os.Getenv("CW_DEPLOY_ARGS"))))
	}
	testenv.Main(m)
}

func newRegistry() *registry.Registry {
	reg := registry.New()
	if err := reg.Register(&deploy.Module{}); err != nil {
		panic(err)
	}
	return reg
}

// stack is a real dev server, a real database, a loopback sshd, a worker
// running the deploy module in-process, and a git repository of the
// sample app.
type stack struct {
	t    *testing.T
	db   *pgxpool.Pool
	tc   client.Client
	dir  string
	repo string
	port int
	srv  *sshd.Server
	// The worker's config (the modules section) and servers.
	yml, dsn, hostPort, ns string
}

func newStack(t *testing.T, extraTarget string) *stack {
	t.Helper()
	s := newStackNoWorker(t, extraTarget)
	stacktest.Worker(t, newRegistry(), s.yml, s.hostPort, s.ns, s.dsn)
	return s
}

// newStackNoWorker is newStack for tests that run their worker as a
// child process (see TestWorkerKilledMidDeploy).
func newStackNoWorker(t *testing.T, extraTarget string) *stack {
	t.Helper()
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	hostPort, ns := testenv.Temporal(t)
	s := &stack{t: t, db: stacktest.DB(t, dsn), tc: testenv.TemporalClient(t), dir: t.TempDir(), port: freePort(t),
		dsn: dsn, hostPort: hostPort, ns: ns}
	s.srv = sshd.Start(t)
	s.repo = filepath.Join(s.dir, "repos", "sample-app")
	s.commitVersion("sample-app", "1.0.0", 10)
	s.yml = fmt.Sprintf(`modules:
  deploy:
    workspace_dir: %[1]s/ws
    repositories: [%[1]s/repos/]
    heartbeat_timeout: 3s
    targets:
      local:
        kind: local
        dir: %[1]s/local
        keep_releases: 2
        policy: {allowed_programs: [python3], env_allow: [GREETING], command_timeout: 1m}
      loop:
        kind: ssh
        dir: %[1]s/ssh
        ssh: {addr: "%[2]s", user: %[3]s, known_hosts: %[4]s, private_key: "file:%[5]s"}
        policy: {allowed_programs: [python3], env_allow: [GREETING]}
%[6]s`, s.dir, s.srv.Addr, s.srv.User, s.srv.KnownHosts, s.srv.ClientKeyFile, extraTarget)
	t.Cleanup(func() { s.stopApps() })
	return s
}

// stopApps stops the supervised sample apps the test started.
func (s *stack) stopApps() {
	for _, base := range []string{"local", "ssh", "approve"} {
		pidfile := filepath.Join(s.dir, base, "run", "app.pid")
		b, err := os.ReadFile(pidfile)
		if err != nil {
			continue
		}
		var pid int
		// Only a live session leader is the app (a stale pid may be reused).
		if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
			if sid, err := unix.Getsid(pid); err == nil && sid == pid {
				_ = unix.Kill(-pid, unix.SIGKILL)
			}
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// commitVersion overlays testdata/<overlay> on the repository, sets the
// manifest's version, port and health retries, and commits and tags it
// v<version>.
func (s *stack) commitVersion(overlay, version string, retries int) {
	s.t.Helper()
	if err := os.MkdirAll(s.repo, 0o755); err != nil {
		s.t.Fatal(err)
	}
	s.overlay(overlay)
	mf := filepath.Join(s.repo, "ai-module.yaml")
	b, err := os.ReadFile(mf)
	if err != nil {
		s.t.Fatal(err)
	}
	m := string(b)
	for _, kv := range [][2]string{{"version: ", version}, {"port: ", fmt.Sprint(s.port)}, {"  retries: ", fmt.Sprint(retries)}} {
		lines := strings.Split(m, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, kv[0]) {
				lines[i] = kv[0] + kv[1]
			}
		}
		m = strings.Join(lines, "\n")
	}
	if err := os.WriteFile(mf, []byte(m), 0o644); err != nil {
		s.t.Fatal(err)
	}
	git := func(args ...string) {
		s.t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = s.repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			s.t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(s.repo, ".git")); err != nil {
		git("init", "-q", "-b", "main")
	}
	git("add", "-A")
	git("commit", "-q", "-m", "v"+version)
	git("tag", "v"+version)
}

func (s *stack) overlay(name string) {
	s.t.Helper()
	src := filepath.Join("testdata", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.repo, e.Name()), b, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *stack) input(target, ref string) wf.Input {
	return wf.Input{TenantID: "acme", Repository: s.repo, Ref: ref, Target: target, Requester: "alice@example.com"}
}

func (s *stack) start(ctx context.Context, in wf.Input) client.WorkflowRun {
	s.t.Helper()
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(in.TenantID, in.Target, in.ModuleName()), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		s.t.Fatal(err)
	}
	return run
}

// deploy runs a deploy to the end and returns its report and error.
func (s *stack) deploy(in wf.Input) (wf.Report, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var rep wf.Report
	err := s.start(ctx, in).Get(ctx, &rep)
	return rep, err
}

// get is the curl of the tests: the body of GET url, or an error.
func get(url string) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return string(b), err
}

// auditRow is a row of deploy_audit the tests look at.
type auditRow struct {
	step, phase, argv, requester, rule string
	exit                               *int
}

func (s *stack) audit(workflowID string) []auditRow {
	s.t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT step, phase, array_to_string(argv, ' '), coalesce(requester, ''), coalesce(refused_rule, ''), exit_code
		FROM deploy_audit WHERE workflow_id = $1 ORDER BY id`, workflowID)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.step, &r.phase, &r.argv, &r.requester, &r.rule, &r.exit); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// writeAndCommit writes one file into the repository and commits it as
// version.
func (s *stack) writeAndCommit(name, content, version string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.repo, name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	git := exec.Command("sh", "-c", `git add -A && git -c user.name=t -c user.email=t@example.com commit -q -m "v$1" && git tag "v$1"`, "sh", version)
	git.Dir = s.repo
	if out, err := git.CombinedOutput(); err != nil {
		s.t.Fatalf("commit: %v\n%s", err, out)
	}
}

// updateHistory rewrites the recordings the replay test uses:
// go test -run TestDeployThenRollback/local ./modules/deploy/ -update-history
var updateHistory = flag.Bool("update-history", false, "record the deploy histories used by the replay test")

// saveHistory writes the workflow's latest run's history as JSON (the
// format of `temporal workflow show --output json`) into
// workflows/deploy/testdata when -update-history is set.
func (s *stack) saveHistory(workflowID, name string) {
	s.t.Helper()
	if !*updateHistory {
		return
	}
	stacktest.SaveHistory(s.t, s.tc, workflowID, "", filepath.Join("..", "..", "workflows", "deploy", "testdata", name))
}
