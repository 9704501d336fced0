package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/config"
	"contextworker/internal/dev/testenv"
	"contextworker/registry"
)

type traceModule struct{}

func (traceModule) Name() string      { return "traced" }
func (traceModule) TaskQueue() string { return "traced-queue" }
func (traceModule) Workflows() []registry.Workflow {
	return []registry.Workflow{{Name: "traced-wf", Input: func() any { return new(string) }}}
}
func (traceModule) Activities() []string  { return []string{"traced.work"} }
func (traceModule) Needs() registry.Needs { return registry.Needs{} }
func (traceModule) NewConfig() any        { return nil }
func (traceModule) Register(_ context.Context, _ registry.Deps, r sdkworker.Registry) error {
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in string) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		var out string
		err := workflow.ExecuteActivity(ctx, "traced.work", in).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: "traced-wf"})
	r.RegisterActivityWithOptions(func(ctx context.Context, in string) (string, error) {
		activity.GetLogger(ctx).Info("traced work")
		return "traced " + in, nil
	}, activity.RegisterOptions{Name: "traced.work"})
	return nil
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// keptSpans keeps the spans through the provider's Shutdown, which would
// clear an InMemoryExporter.
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }

// TestTracing runs a workflow through a worker with worker.tracing on and
// checks that the workflow's and the activity's spans form one trace, and
// that the activity's log line carries that trace's id.
func TestTracing(t *testing.T) {
	hostPort, _ := testenv.Temporal(t)
	t.Logf("integration: dev server %s, in-process worker with tracing", hostPort)
	exp := tracetest.NewInMemoryExporter()
	cfg := config.Default()
	cfg.Temporal.Address = hostPort
	cfg.Worker.Tracing.Enabled = true
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- Run(runCtx, Options{Config: cfg, Modules: []registry.Module{traceModule{}}, Logger: logger,
			Env: func(string) (string, bool) { return "", false }, Ready: func() { close(ready) }, spanExporter: keptSpans{exp}})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("worker: %v", err)
	}
	c := testenv.TemporalClient(t)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "traced-queue"}, "traced-wf", "x")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil || out != "traced x" {
		t.Fatalf("workflow: %q %v", out, err)
	}
	stop()
	if err := <-done; err != nil { // Run flushes the spans as it returns
		t.Fatal(err)
	}

	traces := make(map[string][]string) // trace id → span names
	for _, s := range exp.GetSpans() {
		id := s.SpanContext.TraceID().String()
		traces[id] = append(traces[id], s.Name)
	}
	var traceID string
	for id, names := range traces {
		joined := strings.Join(names, " ")
		if strings.Contains(joined, "RunWorkflow:traced-wf") && strings.Contains(joined, "RunActivity:traced.work") {
			traceID = id
		}
	}
	if traceID == "" {
		t.Fatalf("no trace holds both the workflow run and the activity run: %v", traces)
	}
	found := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, `"traced work"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["TraceID"] != traceID || rec["SpanID"] == nil || rec["module"] != "traced" {
			t.Fatalf("activity log line lacks the trace (want TraceID %s): %s", traceID, line)
		}
		found = true
	}
	if !found {
		t.Fatalf("no activity log line:\n%s", logs.String())
	}
}
