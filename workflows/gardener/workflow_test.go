package gardener_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/gardener"
)

// fake is an in-memory stand-in for the activities: a catalogue of n
// products consumed batch by batch.
type fake struct {
	products, batchSize int64
	enrichCalls         int
	fail                bool
	finishes            []gardener.FinishRequest
}

func (f *fake) begin(_ context.Context, in gardener.Input) (gardener.Plan, error) {
	return gardener.Plan{RunID: "run-1", TenantID: in.TenantID, BatchSize: int(f.batchSize), BatchesPerActivity: 1,
		HeartbeatTimeout: time.Minute, EnrichTimeout: time.Hour, MaxHistoryEvents: 200,
		Enrichers: []gardener.EnricherVersion{{Name: "brand", Version: "1+x"}}}, nil
}

func (f *fake) enrich(_ context.Context, plan gardener.Plan) (gardener.EnrichResult, error) {
	if f.fail {
		return gardener.EnrichResult{}, temporal.NewNonRetryableApplicationError("boom", "Boom", nil)
	}
	f.enrichCalls++
	n := min(int64(f.enrichCalls)*f.batchSize, f.products)
	return gardener.EnrichResult{Totals: gardener.Totals{Batches: int64(f.enrichCalls), Processed: n, Written: n},
		Done: n >= f.products}, nil
}

func (f *fake) finalize(context.Context, gardener.Plan) (gardener.FinalizeResult, error) {
	return gardener.FinalizeResult{Written: 1}, nil
}

func (f *fake) finish(_ context.Context, req gardener.FinishRequest) (gardener.Report, error) {
	f.finishes = append(f.finishes, req)
	return gardener.Report{RunID: req.Plan.RunID, Status: req.Status, Totals: gardener.Totals{Processed: f.products}}, nil
}

func newEnv(t *testing.T, f *fake, id string) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id, TaskQueue: gardener.TaskQueue})
	env.RegisterWorkflowWithOptions(gardener.Workflow, workflow.RegisterOptions{Name: gardener.WorkflowName})
	env.RegisterActivityWithOptions(f.begin, activity.RegisterOptions{Name: gardener.ActivityBegin})
	env.RegisterActivityWithOptions(f.enrich, activity.RegisterOptions{Name: gardener.ActivityEnrich})
	env.RegisterActivityWithOptions(f.finalize, activity.RegisterOptions{Name: gardener.ActivityFinalize})
	env.RegisterActivityWithOptions(f.finish, activity.RegisterOptions{Name: gardener.ActivityFinish})
	return env
}

func TestWorkflowRunsBatchesToTheEnd(t *testing.T) {
	f := &fake{products: 10, batchSize: 4}
	env := newEnv(t, f, gardener.WorkflowID("acme"))
	var progress []gardener.Progress
	env.SetOnActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) {
		v, err := env.QueryWorkflow(gardener.QueryProgress)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		var p gardener.Progress
		if err := v.Get(&p); err != nil {
			t.Error(err)
		}
		progress = append(progress, p)
	})
	env.ExecuteWorkflow(gardener.WorkflowName, gardener.Input{TenantID: "acme"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var rep gardener.Report
	if err := env.GetWorkflowResult(&rep); err != nil || rep.Status != gardener.StatusSucceeded || rep.Processed != 10 {
		t.Fatalf("report %+v %v", rep, err)
	}
	if f.enrichCalls != 3 || len(f.finishes) != 1 {
		t.Fatalf("enrich calls %d, finishes %d", f.enrichCalls, len(f.finishes))
	}
	if len(progress) == 0 || progress[len(progress)-1].Processed != 10 && progress[len(progress)-2].Processed != 10 {
		t.Fatalf("progress %+v", progress)
	}
}

// TestWorkflowRefusesCallerState: only continue-as-new may carry state.
func TestWorkflowRefusesCallerState(t *testing.T) {
	f := &fake{products: 1, batchSize: 1}
	env := newEnv(t, f, gardener.WorkflowID("acme"))
	env.ExecuteWorkflow(gardener.WorkflowName, gardener.Input{TenantID: "acme", State: &gardener.State{}})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != "InvalidInput" || !strings.Contains(err.Error(), "state is internal") {
		t.Fatalf("caller-made state: %v", err)
	}
}

func TestWorkflowContinuesAsNewWithItsState(t *testing.T) {
	// 300 batches, one per activity. The test environment's history length
	// stays at what the test sets, so it reaches MaxHistoryEvents (200) by
	// hand after the third Enrich.
	f := &fake{products: 300, batchSize: 1}
	env := newEnv(t, f, gardener.WorkflowID("acme"))
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == gardener.ActivityEnrich && f.enrichCalls == 3 {
			env.SetCurrentHistoryLength(200)
		}
	})
	env.ExecuteWorkflow(gardener.WorkflowName, gardener.Input{TenantID: "acme"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new", err)
	}
	if f.enrichCalls != 3 || len(f.finishes) != 0 {
		t.Fatalf("enrich calls %d before continuing, finishes %d", f.enrichCalls, len(f.finishes))
	}
	var next gardener.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.Plan == nil || next.State.Enriched.Processed != int64(f.enrichCalls) || next.State.Continuation != 1 {
		t.Fatalf("carried state %+v", next.State)
	}

	// The continued run resumes with the carried plan: no second Begin.
	env2 := newEnv(t, f, gardener.WorkflowID("acme"))
	env2.SetContinuedExecutionRunID("previous-run")
	env2.ExecuteWorkflow(gardener.WorkflowName, next)
	if err := env2.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.enrichCalls != 300 || len(f.finishes) != 1 {
		t.Fatalf("enrich calls %d, finishes %d", f.enrichCalls, len(f.finishes))
	}
}

func TestWorkflowSignalDuringPassRunsAnother(t *testing.T) {
	f := &fake{products: 10, batchSize: 4}
	env := newEnv(t, f, gardener.WorkflowID("acme"))
	// Signal when the first Enrich completes: mid-pass for sure. (A delayed
	// callback on the test clock raced the activities under -cpu 1.)
	signaled := false
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == gardener.ActivityEnrich && !signaled {
			signaled = true
			env.SignalWorkflow(gardener.SignalProductsChanged, nil)
		}
	})
	env.ExecuteWorkflow(gardener.WorkflowName, gardener.Input{TenantID: "acme"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new for another pass", err)
	}
	var next gardener.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State != nil || next.TenantID != "acme" || len(f.finishes) != 1 {
		t.Fatalf("next pass input %+v, finishes %d; want a fresh pass after a finished one", next, len(f.finishes))
	}
}

func TestWorkflowRejectsInvalidInput(t *testing.T) {
	f := &fake{}
	env := newEnv(t, f, gardener.WorkflowID(""))
	env.ExecuteWorkflow(gardener.WorkflowName, gardener.Input{TenantID: "", SupplierCode: "a b"})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != "InvalidInput" || !appErr.NonRetryable() {
		t.Fatalf("error = %v", err)
	}
}

func TestWorkflowRecordsFailure(t *testing.T) {
	f := &fake{products: 10, batchSize: 4, fail: true}
	env := newEnv(t, f, gardener.WorkflowID("acme"))
	env.ExecuteWorkflow(gardener.WorkflowName, gardener.Input{TenantID: "acme"})
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded")
	}
	if len(f.finishes) != 1 || f.finishes[0].Status != gardener.StatusFailed || f.finishes[0].Error != "boom" {
		t.Fatalf("finishes %+v", f.finishes)
	}
}

func TestWorkflowID(t *testing.T) {
	if got := gardener.WorkflowID("acme"); got != "gardener/acme" {
		t.Fatalf("WorkflowID = %s", got)
	}
}
