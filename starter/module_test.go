package starter

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/dev/testenv"
	"contextworker/registry"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testQueue is the task queue of the test module.
const testQueue = "starter-test"

// Workflow types of the test module.
const (
	typeSleepy = "sleepy" // waits for approve or cancellation; id chosen by the caller
	typeKeyed  = "keyed"  // like sleepy, but the module derives the id
	typeQuick  = "quick"  // completes at once, for the benchmarks
)

// sleepyInput has a tenant field, filled from the token when left out.
type sleepyInput struct {
	TenantID string `json:"tenant_id"`
	Note     string `json:"note"`
	Count    int    `json:"count,omitempty"`
}

func (in *sleepyInput) Validate() error {
	var errs []error
	if in.Note == "" {
		errs = append(errs, errors.New("note: required"))
	}
	if in.Count < 0 {
		errs = append(errs, errors.New("count: must be >= 0"))
	}
	return errors.Join(errs...)
}

type keyedInput struct {
	TenantID     string `json:"tenant_id"`
	SupplierCode string `json:"supplier_code"`
}

func (in *keyedInput) Validate() error {
	if in.SupplierCode == "" {
		return errors.New("supplier_code: required")
	}
	return nil
}

type quickInput struct {
	N int `json:"n"`
}

// sleepyResult is what an approved sleepy or keyed workflow returns.
type sleepyResult struct {
	ApprovedBy string `json:"approved_by"`
	Note       string `json:"note"`
}

// Signal and query names of the test workflows.
const (
	signalApprove = "approve"
	queryProgress = "progress"
)

// approvable declares the approve signal and progress query of sleepy and
// keyed.
var (
	approveSignals = []registry.Signal{{Name: signalApprove, Description: "approve, by name", Payload: func() any { return new(string) }}}
	progressQuery  = []registry.Query{{Name: queryProgress, Description: "stage and note", Result: func() any { return &sleepyProgress{} }}}
)

type sleepyProgress struct {
	Stage string `json:"stage"`
	Note  string `json:"note"`
}

// waitForApproval is the body of sleepy and keyed: it answers the progress
// query and returns when approved, or with ErrCanceled when canceled.
func waitForApproval(ctx workflow.Context, note string) (sleepyResult, error) {
	p := sleepyProgress{Stage: "waiting for approve", Note: note}
	if err := workflow.SetQueryHandler(ctx, queryProgress, func() (sleepyProgress, error) { return p, nil }); err != nil {
		return sleepyResult{}, err
	}
	// Channel.Receive does not return on cancellation; a selector on
	// ctx.Done() does.
	var by string
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, signalApprove), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &by) })
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	if err := ctx.Err(); err != nil {
		return sleepyResult{}, err
	}
	return sleepyResult{ApprovedBy: by, Note: note}, nil
}

// failNote makes sleepy fail at once, with failType.
const (
	failNote = "fail"
	failType = "Boom"
	// failMessage is operator detail: a path a tenant must never see.
	failMessage = "/srv/feeds/acme/secret.csv: permission denied"
)

func sleepyWorkflow(ctx workflow.Context, in sleepyInput) (sleepyResult, error) {
	if in.Note == failNote {
		return sleepyResult{}, temporal.NewNonRetryableApplicationError(failMessage, failType, nil)
	}
	return waitForApproval(ctx, in.Note)
}

func keyedWorkflow(ctx workflow.Context, in keyedInput) (sleepyResult, error) {
	return waitForApproval(ctx, in.SupplierCode)
}

func quickWorkflow(_ workflow.Context, in quickInput) (int, error) { return in.N, nil }

// testModule declares the test workflows, as a real module would.
type testModule struct{}

var _ registry.Module = testModule{}

func (testModule) Name() string      { return "startertest" }
func (testModule) TaskQueue() string { return testQueue }
func (testModule) Workflows() []registry.Workflow {
	return []registry.Workflow{
		{
			Name:          typeSleepy,
			Description:   "waits for approve",
			Input:         func() any { return &sleepyInput{} },
			Tenant:        func(in any) string { return in.(*sleepyInput).TenantID },
			Signals:       approveSignals,
			Queries:       progressQuery,
			ProgressQuery: queryProgress,
		},
		{
			Name:        typeKeyed,
			Description: "one run per supplier at a time",
			Input:       func() any { return &keyedInput{} },
			ID: func(in any) string {
				i := in.(*keyedInput)
				return "keyed/" + i.TenantID + "/" + i.SupplierCode
			},
			Tenant:        func(in any) string { return in.(*keyedInput).TenantID },
			Signals:       approveSignals,
			Queries:       progressQuery,
			ProgressQuery: queryProgress,
		},
		{
			Name:        typeQuick,
			Description: "completes at once",
			Input:       func() any { return &quickInput{} },
		},
	}
}
func (testModule) Activities() []string  { return nil }
func (testModule) Needs() registry.Needs { return registry.Needs{} }
func (testModule) NewConfig() any        { return nil }
func (testModule) Register(_ context.Context, _ registry.Deps, r worker.Registry) error {
	r.RegisterWorkflowWithOptions(sleepyWorkflow, workflow.RegisterOptions{Name: typeSleepy})
	r.RegisterWorkflowWithOptions(keyedWorkflow, workflow.RegisterOptions{Name: typeKeyed})
	r.RegisterWorkflowWithOptions(quickWorkflow, workflow.RegisterOptions{Name: typeQuick})
	return nil
}

// testRegistry is a fresh registry holding only the test module.
func testRegistry(tb testing.TB) *registry.Registry {
	tb.Helper()
	reg := registry.New()
	if err := reg.Register(testModule{}); err != nil {
		tb.Fatal(err)
	}
	return reg
}
