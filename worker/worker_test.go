package worker

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/dev/testenv"
	"contextworker/registry"
)

// TestMain doubles as a worker binary with two test modules when
// CW_WORKER_TEST_CHILD is set, so tests can signal a real worker process.
func TestMain(m *testing.M) {
	if os.Getenv("CW_WORKER_TEST_CHILD") == "1" {
		reg := registry.New()
		reg.Register(&testModule{name: "alpha", sleep: 3 * time.Second, finished: new(atomic.Bool)}) //nolint:errcheck
		reg.Register(&testModule{name: "beta", finished: new(atomic.Bool)})                          //nolint:errcheck
		os.Exit(Main(reg, append([]string{"worker"}, strings.Fields(os.Getenv("CW_WORKER_TEST_ARGS"))...)))
	}
	testenv.Main(m)
}

// testModule is a real, minimal module: one workflow that runs one
// activity. The activity takes `sleep` and records that it finished.
type testModule struct {
	name     string
	sleep    time.Duration
	started  chan struct{}
	finished *atomic.Bool
}

func (m *testModule) Name() string      { return m.name }
func (m *testModule) TaskQueue() string { return m.name + "-queue" }
func (m *testModule) Workflows() []registry.Workflow {
	return []registry.Workflow{{Name: m.name + "-wf", Input: func() any { return new(string) }}}
}
func (m *testModule) Activities() []string  { return []string{m.name + ".work"} }
func (m *testModule) Needs() registry.Needs { return registry.Needs{} }
func (m *testModule) NewConfig() any        { return nil }
func (m *testModule) Register(_ context.Context, _ registry.Deps, r sdkworker.Registry) error {
	act := m.name + ".work"
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in string) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		var out string
		err := workflow.ExecuteActivity(ctx, act, in).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: m.name + "-wf"})
	r.RegisterActivityWithOptions(func(ctx context.Context, in string) (string, error) {
		if m.started != nil {
			close(m.started)
		}
		select {
		case <-time.After(m.sleep):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		m.finished.Store(true)
		return "done " + in, nil
	}, activity.RegisterOptions{Name: act})
	return nil
}

func twoModules(t *testing.T) (*registry.Registry, *testModule, *testModule) {
	t.Helper()
	a := &testModule{name: "alpha", finished: new(atomic.Bool)}
	b := &testModule{name: "beta", finished: new(atomic.Bool)}
	reg := registry.New()
	for _, m := range []registry.Module{a, b} {
		if err := reg.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	return reg, a, b
}

func runApp(t *testing.T, reg *registry.Registry, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := App(reg, &out, &errOut).Run(append([]string{"worker"}, args...))
	return out.String() + errOut.String(), err
}

func TestUnknownModule(t *testing.T) {
	reg, _, _ := twoModules(t)
	_, err := runApp(t, reg, "--modules", "nope")
	if err == nil || !strings.Contains(err.Error(), `unknown module "nope" (known: alpha, beta)`) {
		t.Fatalf("err = %v; want the known modules listed", err)
	}
	if code := Main(reg, []string{"worker", "--modules", "alpha,nope"}); code == 0 {
		t.Fatal("exit code 0 for an unknown module")
	}
}

func TestStrayArgument(t *testing.T) {
	reg, _, _ := twoModules(t)
	if _, err := runApp(t, reg, "alpha"); err == nil || !strings.Contains(err.Error(), `unexpected argument "alpha"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseModuleNames(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"comma", []string{"harvest,gardener"}, "harvest gardener"},
		{"space args", []string{"harvest", "gardener"}, "harvest gardener"},
		{"mixed and padded", []string{" harvest , gardener", "ingest"}, "harvest gardener ingest"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(ParseModuleNames(tt.in...), " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJoinModuleArgs(t *testing.T) {
	reg, _, _ := twoModules(t)
	app := App(reg, io.Discard, io.Discard)
	tests := []struct {
		name, in, want string
	}{
		{"space-separated then a flag", "worker --modules harvest gardener --config x.yaml", "worker --modules harvest,gardener --config x.yaml"},
		{"comma form untouched", "worker --modules harvest,gardener", "worker --modules harvest,gardener"},
		{"subcommand ends the list", "worker --modules harvest schedules sync", "worker --modules harvest schedules sync"},
		{"short flag", "worker -m a b", "worker -m a,b"},
		{"no modules flag", "worker --config x.yaml", "worker --config x.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(JoinModuleArgs(strings.Fields(tt.in), app), " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestModulesTable(t *testing.T) {
	reg, _, _ := twoModules(t)
	out, err := runApp(t, reg, "modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MODULE", "alpha", "alpha-queue", "alpha-wf", "alpha.work", "beta-queue"} {
		if !strings.Contains(out, want) {
			t.Errorf("modules table lacks %q:\n%s", want, out)
		}
	}
}

func TestBadConfigFailsAtStart(t *testing.T) {
	reg, _, _ := twoModules(t)
	path := filepath.Join(t.TempDir(), "temporal.yaml")
	if err := os.WriteFile(path, []byte("worker:\n  shutdown_timeout: 5s\n  shutdown_timout: 1s\nlog:\n  format: yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runApp(t, reg, "--config", path, "--modules", "alpha")
	if err == nil || !strings.Contains(err.Error(), `temporal.yaml:3: unknown key "shutdown_timout" in worker`) {
		t.Fatalf("err = %v", err)
	}
}

// TestGlobalFlagsAfterSubcommand: people put flags after the subcommand
// (`worker schedules sync --config x.yaml`); the config named there must be
// the one read, as it is before the subcommand.
func TestGlobalFlagsAfterSubcommand(t *testing.T) {
	reg, _, _ := twoModules(t)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("worker:\n  shutdown_timout: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", path, "schedules", "sync"},
		{"schedules", "sync", "--config", path},
		{"migrate", "--config", path},
		{"--config", "/nonexistent.yaml", "migrate", "--config", path},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, err := runApp(t, reg, args...)
			if err == nil || !strings.Contains(err.Error(), `bad.yaml:2: unknown key "shutdown_timout"`) {
				t.Fatalf("err = %v, want the config named by --config read", err)
			}
		})
	}
}

func writeConfig(t *testing.T, hostPort string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "temporal.yaml")
	yml := "temporal:\n  address: " + hostPort + "\n  connect_timeout: 5s\nworker:\n  shutdown_timeout: 20s\nlog:\n  format: text\n  level: warn\n"
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pollers(t *testing.T, c client.Client, queue string) int {
	t.Helper()
	resp, err := c.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.GetPollers())
}

// TestSelectedModulesOnlyAndGracefulSIGTERM runs a real worker process
// with `--modules alpha` while two modules are registered, and checks, as
// `temporal task-queue describe` would, that only alpha's task queue has
// pollers. Then SIGTERM arrives while an activity runs: the activity must
// complete, and the process exit 0, before the workflow is picked up again.
func TestSelectedModulesOnlyAndGracefulSIGTERM(t *testing.T) {
	testenv.Integration(t)
	hostPort, _ := testenv.Temporal(t)
	c := testenv.TemporalClient(t)
	t.Logf("integration: dev server %s, worker process with --modules alpha", hostPort)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CW_WORKER_TEST_CHILD=1",
		"CW_WORKER_TEST_ARGS=--config "+writeConfig(t, hostPort)+" --modules alpha")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // may have exited
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	waitFor(ctx, t, "a poller on alpha-queue", func() bool { return pollers(t, c, "alpha-queue") > 0 })
	if n := pollers(t, c, "beta-queue"); n != 0 {
		t.Fatalf("beta-queue has %d pollers; only alpha was selected", n)
	}

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "alpha-queue"}, "alpha-wf", "x")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the activity to start", func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return true
			}
		}
		return false
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("worker exit: %v\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatal("worker did not exit after SIGTERM")
	}
	completed := false
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED {
			completed = true
		}
	}
	if !completed {
		t.Fatalf("the worker exited without completing its running activity\n%s", logs.String())
	}
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestUnreachableTemporal(t *testing.T) {
	reg, _, _ := twoModules(t)
	start := time.Now()
	path := writeConfig(t, "127.0.0.1:1")
	_, err := runApp(t, reg, "--config", path, "--modules", "alpha")
	if err == nil || !strings.Contains(err.Error(), "temporal: could not reach 127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > time.Minute {
		t.Fatalf("retry was not bounded by connect_timeout: %s", time.Since(start))
	}
}
