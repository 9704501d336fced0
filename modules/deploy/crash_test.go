package deploy_test

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

	wf "contextworker/workflows/deploy"
)

// workerProcess is a deploy worker running as a child process (this test
// binary, see TestMain), so a test can SIGKILL it.
type workerProcess struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan error
}

func (s *stack) startChildWorker() *workerProcess {
	s.t.Helper()
	cfg := filepath.Join(s.dir, "temporal.yaml")
	yml := fmt.Sprintf("temporal: {address: %q, namespace: %q, connect_timeout: 20s}\nworker: {shutdown_timeout: 5s}\nlog: {format: text, level: warn}\n", s.hostPort, s.ns) + s.yml
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CW_DEPLOY_CHILD=1", "DATABASE_URL="+s.dsn, "CW_DEPLOY_ARGS=worker --config "+cfg)
	w := &workerProcess{cmd: cmd, logs: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { w.done <- cmd.Wait() }()
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if s.t.Failed() {
			s.t.Logf("worker log:\n%s", w.logs.String())
		}
	})
	return w
}

// TestWorkerKilledMidDeploy SIGKILLs the worker while the test command
// runs; a new worker finishes the deploy, and the build, which had
// succeeded, never runs again.
func TestWorkerKilledMidDeploy(t *testing.T) {
	s := newStackNoWorker(t, "")
	defer s.stopApps()
	mf, err := os.ReadFile(filepath.Join(s.repo, "ai-module.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.writeAndCommit("slow_test.py", "import time\ntime.sleep(8)\n", "1.0.1")
	s.writeAndCommit("ai-module.yaml", string(bytes.Replace(mf, []byte("test_command: python3 test_app.py"), []byte("test_command: python3 slow_test.py"), 1)), "1.0.2")

	first := s.startChildWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := s.start(ctx, s.input("local", "v1.0.2"))
	id := run.GetID()
	for {
		var n int
		_ = s.db.QueryRow(ctx, `SELECT count(*) FROM deploy_audit WHERE workflow_id = $1 AND step = 'test' AND phase = 'started'`, id).Scan(&n)
		if n > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the test step never started")
		case err := <-first.done:
			t.Fatalf("worker exited early: %v\n%s", err, first.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done

	s.startChildWorker()
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil || rep.Status != wf.StatusSucceeded {
		t.Fatalf("deploy after the crash: %+v %v", rep, err)
	}
	count := func(step, phase string) int {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM deploy_audit WHERE workflow_id = $1 AND step = $2 AND phase = $3`, id, step, phase).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if b, tst := count("build", "started"), count("test", "started"); b != 1 || tst != 2 {
		t.Errorf("build started %d times (want 1: it had succeeded), test %d times (want 2: killed, then retried)", b, tst)
	}
	if body, err := get(fmt.Sprintf("http://127.0.0.1:%d/health", s.port)); err != nil || body != "ok 1.0.0" {
		t.Errorf("GET /health = %q %v", body, err)
	}
}
