package harvest_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/harvest"
)

// harness runs the harvest workflow in a TestWorkflowEnvironment. Every
// activity is registered under its real name with a stand-in that fails the
// test when called, so a test mocks (with the on* methods) exactly the
// activities it expects, and "never called" needs no assertion of its own.
// The mocks record their arguments; activities run on their own goroutines,
// hence the mutex.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	begins   []harvest.Input
	stages   []harvest.Plan
	merges   []mergeCall
	deacts   []harvest.DeactivateRequest
	finishes []harvest.FinishRequest
}

type mergeCall struct {
	plan harvest.Plan
	part int
}

// newHarness returns a harness whose workflow starts with id workflowID.
func newHarness(t *testing.T, workflowID string) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflowID, TaskQueue: harvest.TaskQueue})
	env.RegisterWorkflowWithOptions(harvest.Workflow, workflow.RegisterOptions{Name: harvest.WorkflowName})
	h := &harness{t: t, env: env}
	for name, fn := range map[string]any{
		harvest.ActivityBegin: func(context.Context, harvest.Input) (harvest.Plan, error) {
			return harvest.Plan{}, h.unexpected(harvest.ActivityBegin)
		},
		harvest.ActivityStage: func(context.Context, harvest.Plan) (harvest.StageResult, error) {
			return harvest.StageResult{}, h.unexpected(harvest.ActivityStage)
		},
		harvest.ActivityMerge: func(context.Context, harvest.Plan, int) (harvest.MergeResult, error) {
			return harvest.MergeResult{}, h.unexpected(harvest.ActivityMerge)
		},
		harvest.ActivityDeactivate: func(context.Context, harvest.DeactivateRequest) (harvest.DeactivateResult, error) {
			return harvest.DeactivateResult{}, h.unexpected(harvest.ActivityDeactivate)
		},
		harvest.ActivityFinish: func(context.Context, harvest.FinishRequest) (harvest.Report, error) {
			return harvest.Report{}, h.unexpected(harvest.ActivityFinish)
		},
		harvest.ActivityNotifyGardener: func(context.Context, harvest.Plan) error {
			return h.unexpected(harvest.ActivityNotifyGardener)
		},
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	t.Cleanup(func() { env.AssertExpectations(t) })
	return h
}

// unexpected fails the test (it may run on an activity goroutine, so it
// must not call FailNow) and fails the activity for good.
func (h *harness) unexpected(name string) error {
	h.t.Errorf("activity %s called, but the test does not expect it", name)
	return temporal.NewNonRetryableApplicationError("unexpected call of "+name, "Unexpected", nil)
}

func (h *harness) onBegin(plan harvest.Plan, err error) {
	h.env.OnActivity(harvest.ActivityBegin, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in harvest.Input) (harvest.Plan, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.begins = append(h.begins, in)
			return plan, err
		})
}

func (h *harness) onStage(res harvest.StageResult, err error) {
	h.env.OnActivity(harvest.ActivityStage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, plan harvest.Plan) (harvest.StageResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.stages = append(h.stages, plan)
			return res, err
		})
}

func (h *harness) onMerge(fn func(part int) (harvest.MergeResult, error)) {
	h.env.OnActivity(harvest.ActivityMerge, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, plan harvest.Plan, part int) (harvest.MergeResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.merges = append(h.merges, mergeCall{plan: plan, part: part})
			return fn(part)
		})
}

func (h *harness) onDeactivate(fn func(harvest.DeactivateRequest) (harvest.DeactivateResult, error)) {
	h.env.OnActivity(harvest.ActivityDeactivate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req harvest.DeactivateRequest) (harvest.DeactivateResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.deacts = append(h.deacts, req)
			return fn(req)
		})
}

// onFinish mocks Finish with reportFor, as the real activity reads the
// report back from harvest_runs.
func (h *harness) onFinish() {
	h.env.OnActivity(harvest.ActivityFinish, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req harvest.FinishRequest) (harvest.Report, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.finishes = append(h.finishes, req)
			return reportFor(req), nil
		})
}

// run executes the workflow to completion.
func (h *harness) run(in harvest.Input) {
	h.t.Helper()
	h.env.ExecuteWorkflow(harvest.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

// result returns the workflow's report, or its error.
func (h *harness) result() (*harvest.Report, error) {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var rep *harvest.Report
	if err := h.env.GetWorkflowResult(&rep); err != nil {
		h.t.Fatalf("decode workflow result: %v", err)
	}
	return rep, nil
}

// progress runs the progress query.
func (h *harness) progress() harvest.Progress {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(harvest.QueryProgress)
	if err != nil {
		h.t.Fatalf("query %s: %v", harvest.QueryProgress, err)
	}
	var p harvest.Progress
	if err := v.Get(&p); err != nil {
		h.t.Fatalf("decode progress: %v", err)
	}
	return p
}

// mergedParts returns the partitions Merge was called for, sorted, one
// entry per call, and fails the test if a call carried another plan.
func (h *harness) mergedParts(plan harvest.Plan) []int {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	parts := make([]int, 0, len(h.merges))
	for _, c := range h.merges {
		if !plansEqual(c.plan, plan) {
			h.t.Errorf("Merge(part %d) got plan %+v, want %+v", c.part, c.plan, plan)
		}
		parts = append(parts, c.part)
	}
	slices.Sort(parts)
	return parts
}

func (h *harness) calls() (begins, stages, deacts, finishes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.begins), len(h.stages), len(h.deacts), len(h.finishes)
}

// testPlan is what Begin resolves for acme/s1.
func testPlan() harvest.Plan {
	return harvest.Plan{
		RunID:        "run-1",
		WorkflowID:   harvest.WorkflowID("acme", "s1"),
		TenantID:     "acme",
		SupplierCode: "s1",
		FeedURL:      "https://feeds.example/acme/s1.csv",
		Format:       "csv",
		Conditional:  true,
		Tuning: harvest.Tuning{
			Partitions:         4,
			Parallelism:        2,
			MaxDeactivateShare: 0.1,
			ApprovalTimeout:    time.Hour,
			HeartbeatTimeout:   time.Minute,
			StageTimeout:       time.Hour,
		},
	}
}

func testInput() harvest.Input { return harvest.Input{TenantID: "acme", SupplierCode: "s1"} }

func testStage() harvest.StageResult {
	return harvest.StageResult{Bytes: 4096, RowsRead: 1000, Valid: 990, Rejected: 7, Duplicates: 3, Attempts: 1}
}

// mergeResult gives each partition distinct counts, so sums catch a part
// counted twice or missed.
func mergeResult(part int) (harvest.MergeResult, error) {
	return harvest.MergeResult{Part: part, Inserted: int64(10 * (part + 1)), Updated: int64(part + 1), Unchanged: 100}, nil
}

// mergedTotals sums mergeResult over parts.
func mergedTotals(parts ...int) harvest.MergeResult {
	var sum harvest.MergeResult
	for _, p := range parts {
		r, _ := mergeResult(p)
		sum.Inserted += r.Inserted
		sum.Updated += r.Updated
		sum.Unchanged += r.Unchanged
	}
	return sum
}

// deactivateFreely deactivates without asking: few products are missing.
func deactivateFreely(req harvest.DeactivateRequest) (harvest.DeactivateResult, error) {
	if req.CheckOnly {
		return harvest.DeactivateResult{ActiveBefore: 100, Missing: 5, Share: 0.05, Limit: 0.1}, nil
	}
	return harvest.DeactivateResult{ActiveBefore: 100, Missing: 5, Share: 0.05, Limit: 0.1, Deactivated: 5}, nil
}

// deactivateWithApproval wants approval for 30 of 100 products and
// deactivates them once approved.
func deactivateWithApproval(req harvest.DeactivateRequest) (harvest.DeactivateResult, error) {
	if !req.Approved {
		return harvest.DeactivateResult{ActiveBefore: 100, Missing: 30, Share: 0.3, Limit: 0.1, NeedsApproval: true}, nil
	}
	return harvest.DeactivateResult{ActiveBefore: 100, Missing: 30, Share: 0.3, Deactivated: 30}, nil
}

func reportFor(req harvest.FinishRequest) harvest.Report {
	return harvest.Report{
		RunID:        req.Plan.RunID,
		WorkflowID:   req.Plan.WorkflowID,
		TenantID:     req.Plan.TenantID,
		SupplierCode: req.Plan.SupplierCode,
		Status:       req.Status,
		Error:        req.Error,
		FeedURL:      req.Plan.FeedURL,
		Format:       req.Plan.Format,
		RowsRead:     1000,
		Valid:        990,
		Inserted:     100,
		StartedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		FinishedAt:   time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC),
	}
}

// plansEqual compares plans by value (Plan holds a map, so no ==).
func plansEqual(a, b harvest.Plan) bool { return reflect.DeepEqual(a, b) }

// isAppErr reports whether err wraps an application error of type typ.
func isAppErr(typ string) func(error) bool {
	return func(err error) bool {
		var appErr *temporal.ApplicationError
		return errors.As(err, &appErr) && appErr.Type() == typ
	}
}
