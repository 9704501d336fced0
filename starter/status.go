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
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
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

// progressQuery is the query type whose answer is reported as progress.
const progressQuery = "progress"

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
		st.Progress = s.progress(ctx, id, runID)
	} else if err := s.outcome(ctx, id, runID, &st); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// describe returns the latest run of workflow id if it belongs to c's
// tenant, and a 404 otherwise. Both the id and the TenantId search
// attribute must name the tenant: the id alone is only a convention.
func (s *Server) describe(ctx context.Context, c *caller, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	if idTenant(id) != c.Tenant {
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
	if keyword(info.GetSearchAttributes(), saTenant) != c.Tenant {
		return nil, notFound(id)
	}
	return info, nil
}

// keyword decodes the Keyword search attribute name, or "".
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return ""
	}
	return v
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

// progress asks the running workflow for its progress. Any failure (no such
// query, no worker in time) just leaves progress out.
func (s *Server) progress(ctx context.Context, id, runID string) json.RawMessage {
	ctx, cancel := context.WithTimeout(ctx, min(progressTimeout, s.cfg.TemporalTimeout))
	defer cancel()
	v, err := s.tc.QueryWorkflow(ctx, id, runID, progressQuery)
	if err != nil {
		s.log.Debug("progress query failed", "workflow_id", id, "error", err)
		return nil
	}
	if !v.HasValue() {
		return nil
	}
	var raw json.RawMessage
	if err := v.Get(&raw); err != nil || !json.Valid(raw) {
		s.log.Debug("progress is not JSON", "workflow_id", id, "error", err)
		return nil
	}
	return raw
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
		st.Result = jsonPayload(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult())
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		st.Failure = failureOf(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure(), 0)
	case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		st.Failure = &failureInfo{Message: "workflow timed out", Type: "TimedOut"}
	case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		st.Failure = &failureInfo{Message: ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason(), Type: "Terminated"}
	}
	return nil
}

// jsonPayload returns a JSON result as is; other encodings are left out.
func jsonPayload(ps *commonpb.Payloads) json.RawMessage {
	if len(ps.GetPayloads()) == 0 {
		return nil
	}
	p := ps.GetPayloads()[0]
	switch string(p.GetMetadata()[converter.MetadataEncoding]) {
	case converter.MetadataEncodingJSON:
		if json.Valid(p.GetData()) {
			return p.GetData()
		}
	case converter.MetadataEncodingNil:
		return json.RawMessage("null")
	}
	return nil
}

// failureOf keeps a failure's messages and types, never its stack traces.
func failureOf(f *failurepb.Failure, depth int) *failureInfo {
	if f == nil || depth > 5 {
		return nil
	}
	fi := &failureInfo{Message: f.GetMessage(), Type: f.GetApplicationFailureInfo().GetType()}
	fi.Cause = failureOf(f.GetCause(), depth+1)
	return fi
}
