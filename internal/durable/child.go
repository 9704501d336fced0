package durable

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Canonical describes the one run per key that a workflow type allows, for
// Delegate: a workflow started under any other id (a Schedule appends a
// timestamp, a user may choose any id) runs itself as a child under the
// canonical id, so Temporal refuses a second concurrent run.
type Canonical struct {
	// WorkflowID is the canonical id, e.g. "harvest/acme/demo".
	WorkflowID string
	// WorkflowType and TaskQueue name the child: the workflow itself.
	WorkflowType, TaskQueue string
	// Summary is the child's static summary in the Web UI.
	Summary string
	// SearchAttributes are set on the child at start.
	SearchAttributes []temporal.SearchAttributeUpdate
	// AlreadyRunningType is the application error type returned when the
	// canonical id is taken by a running workflow, and AlreadyRunning its
	// message (it should say what to do instead).
	AlreadyRunningType, AlreadyRunning string
}

// Delegate runs the workflow as a child under c.WorkflowID with input in
// and returns its result. Cancelling the parent cancels the child.
func Delegate[R any](ctx workflow.Context, c Canonical, in any) (*R, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            c.WorkflowID,
		TaskQueue:             c.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		StaticSummary:         c.Summary,
		TypedSearchAttributes: temporal.NewSearchAttributes(c.SearchAttributes...),
	})
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("delegated to workflow **%s**", c.WorkflowID))
	var out R
	err := workflow.ExecuteChildWorkflow(cctx, c.WorkflowType, in).Get(ctx, &out)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil, temporal.NewNonRetryableApplicationError(c.AlreadyRunning, c.AlreadyRunningType, err)
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ShouldContinueAsNew reports whether a workflow should continue as new at
// its next safe point: when the server suggests it, or when history has
// reached maxEvents (0: only the server's suggestion counts). Workflows
// call it between units of work, never in the middle of one.
func ShouldContinueAsNew(ctx workflow.Context, maxEvents int) bool {
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() {
		return true
	}
	return maxEvents > 0 && info.GetCurrentHistoryLength() >= maxEvents
}

// The run statuses FinishFailed records.
const (
	StatusFailed   = "failed"
	StatusCanceled = "canceled"
)

// FinishFailed records a run that ended on cause as failed or canceled. It
// runs record (which executes the module's own finishing activity) on a
// disconnected context, so a canceled workflow is still recorded, with
// activity options for queue; a failure to record is logged, not returned,
// because cause is what the run reports. It then shows the outcome as the
// workflow's current details.
func FinishFailed(ctx workflow.Context, queue string, cause error, record func(ctx workflow.Context, status, msg string) error) {
	status := StatusFailed
	canceled, msg := Outcome(ctx, cause)
	if canceled {
		status = StatusCanceled
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	actx := ActivityContext(dctx, queue, "record the "+status+" run", defaultFinishTimeout, 0, 0)
	if err := record(actx, status, msg); err != nil {
		workflow.GetLogger(ctx).Error("could not record the "+status+" run", "error", err)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: %s", status, msg))
}
