package starter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"contextworker/internal/searchattr"
)

// statuses maps the API's status names to Temporal's. The visibility query
// language spells them as the enum's String() does ("TimedOut").
var statuses = map[string]enumspb.WorkflowExecutionStatus{
	"running":          enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	"completed":        enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	"failed":           enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
	"canceled":         enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
	"terminated":       enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
	"timed_out":        enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
	"continued_as_new": enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	for name, v := range statuses {
		if v == s {
			return name
		}
	}
	return "unknown"
}

// progressTimeout bounds the progress query. A query waits for a worker, so
// without one polling it would hold the status answer for the whole
// Temporal timeout; progress is optional, the status is not.
const progressTimeout = 2 * time.Second

// workflowSummary is one workflow in a list.
type workflowSummary struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Type       string     `json:"type"`
	Status     string     `json:"status"`
	StartTime  *time.Time `json:"start_time,omitempty"`
	CloseTime  *time.Time `json:"close_time,omitempty"`
	UIURL      string     `json:"ui_url,omitempty"`
}

// workflowStatus is the answer of GET /v1/workflows/{id}.
type workflowStatus struct {
	workflowSummary
	TaskQueue string          `json:"task_queue"`
	Result    json.RawMessage `json:"result,omitempty"`
	Failure   *failureInfo    `json:"failure,omitempty"`
	Progress  json.RawMessage `json:"progress,omitempty"`
}

// failureInfo is a workflow failure without its stack traces.
type failureInfo struct {
	Message string       `json:"message"`
	Type    string       `json:"type,omitempty"`
	Cause   *failureInfo `json:"cause,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	ctx, cancel := s.temporalContext(r)
	defer cancel()
	info, err := s.describe(ctx, c, id)
	if err != nil {
		return err
	}
	st := workflowStatus{workflowSummary: s.summarize(info), TaskQueue: info.GetTaskQueue()}
	runID := info.GetExecution().GetRunId()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		st.Progress = s.progress(ctx, s.types[info.GetType().GetName()].wf.ProgressQuery, id, runID)
	} else if err := s.outcome(ctx, id, runID, &st); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// describe returns the latest run of workflow id if it belongs to c's
// tenant, and a 404 otherwise. The id must be an id of the tenant for the
// run's registered workflow type, and the run's TenantId search attribute
// must name the tenant too: the id alone is only a convention.
func (s *Server) describe(ctx context.Context, c *caller, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if !s.mayOwn(id, c.Tenant) {
		return nil, notFound(id) // not even asked: no timing difference worth having
	}
	resp, err := s.tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, notFound(id)
		}
		return nil, err
	}
	info := resp.GetWorkflowExecutionInfo()
	if !s.visibleTo(info, c) {
		return nil, notFound(id)
	}
	return info, nil
}

// visibleTo reports whether run info is c's: a registered type whose id
// names c's tenant, with c's tenant in TenantId.
func (s *Server) visibleTo(info *workflowpb.WorkflowExecutionInfo, c *caller) bool {
	wt, ok := s.types[info.GetType().GetName()]
	return ok && ownedBy(wt.wf, info.GetExecution().GetWorkflowId(), c.Tenant) &&
		keyword(info.GetSearchAttributes(), searchattr.Tenant.GetName()) == c.Tenant
}

func (s *Server) summarize(info *workflowpb.WorkflowExecutionInfo) workflowSummary {
	id, runID := info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId()
	return workflowSummary{
		WorkflowID: id,
		RunID:      runID,
		Type:       info.GetType().GetName(),
		Status:     statusName(info.GetStatus()),
		StartTime:  timeOf(info.GetStartTime()),
		CloseTime:  timeOf(info.GetCloseTime()),
		UIURL:      s.uiURL(id, runID),
	}
}

func timeOf(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil || !ts.IsValid() || (ts.Seconds == 0 && ts.Nanos == 0) {
		return nil
	}
	t := ts.AsTime().UTC()
	return &t
}

// progress asks the running workflow the query its type declares as
// progress (none: no progress). Any failure (no worker in time, a failing
// handler) just leaves progress out.
func (s *Server) progress(ctx context.Context, query, id, runID string) json.RawMessage {
	if query == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, min(progressTimeout, s.cfg.TemporalTimeout))
	defer cancel()
	resp, err := s.tc.WorkflowService().QueryWorkflow(ctx, &workflowservice.QueryWorkflowRequest{
		Namespace: s.namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Query:     &querypb.WorkflowQuery{QueryType: query},
	})
	if err != nil {
		s.log.Debug("progress query failed", "workflow_id", id, "error", err)
		return nil
	}
	return s.jsonPayload(resp.GetQueryResult())
}

// outcome fills the result or failure of a closed run from its close event.
func (s *Server) outcome(ctx context.Context, id, runID string, st *workflowStatus) error {
	it := s.tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	if !it.HasNext() {
		return nil
	}
	ev, err := it.Next()
	if err != nil {
		return err
	}
	switch {
	case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
		st.Result = s.jsonPayload(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult())
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		st.Failure = failureOf(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure(), 0)
	case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		st.Failure = &failureInfo{Message: failureReasons["TimedOut"], Type: "TimedOut"}
	case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		// The reason is an operator's free text: operators read it in the
		// Web UI.
		st.Failure = &failureInfo{Message: failureReasons["Terminated"], Type: "Terminated"}
	}
	return nil
}

// jsonPayload decodes the first payload with the server's data converter
// and returns it if it is JSON; other encodings are left out.
func (s *Server) jsonPayload(ps *commonpb.Payloads) json.RawMessage {
	if len(ps.GetPayloads()) == 0 {
		return nil
	}
	var raw json.RawMessage
	if err := s.dc.FromPayload(ps.GetPayloads()[0], &raw); err != nil || len(raw) == 0 || !json.Valid(raw) {
		return nil
	}
	return raw
}

// failureOf says what kind of failure f is, never its message or stack
// trace: messages carry paths, hosts and config keys meant for operators,
// who read them in the worker's log and the Web UI. Type is the failure's
// code: the application error type (e.g. "BadConfig") or the kind of
// failure ("TimedOut", "Canceled", "ActivityFailed", ...).
func failureOf(f *failurepb.Failure, depth int) *failureInfo {
	if f == nil || depth > 5 {
		return nil
	}
	code := failureCode(f)
	fi := &failureInfo{Type: code, Message: failureReasons[code]}
	if fi.Message == "" {
		fi.Message = "the workflow failed (" + code + "); operators find the detail in the worker's log"
	}
	fi.Cause = failureOf(f.GetCause(), depth+1)
	return fi
}

// failureReasons are the messages shown for failure kinds.
var failureReasons = map[string]string{
	"TimedOut":            "a timeout expired",
	"Canceled":            "the workflow was canceled",
	"Terminated":          "the workflow was terminated by an operator",
	"ActivityFailed":      "a step of the workflow failed",
	"ChildWorkflowFailed": "a child workflow failed",
	"ServerError":         "Temporal refused a step of the workflow",
}

func failureCode(f *failurepb.Failure) string {
	switch {
	case f.GetApplicationFailureInfo() != nil:
		if t := f.GetApplicationFailureInfo().GetType(); t != "" && len(t) <= 64 {
			return t
		}
		return "ApplicationError"
	case f.GetTimeoutFailureInfo() != nil:
		return "TimedOut"
	case f.GetCanceledFailureInfo() != nil:
		return "Canceled"
	case f.GetTerminatedFailureInfo() != nil:
		return "Terminated"
	case f.GetActivityFailureInfo() != nil:
		return "ActivityFailed"
	case f.GetChildWorkflowExecutionFailureInfo() != nil:
		return "ChildWorkflowFailed"
	case f.GetServerFailureInfo() != nil:
		return "ServerError"
	}
	return "Failure"
}
