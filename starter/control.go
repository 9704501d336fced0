package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"contextworker/registry"
)

// signalPattern is what a signal name may look like.
var signalPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// controlResponse answers cancel and signal requests.
type controlResponse struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Status     string `json:"status"`
	Signal     string `json:"signal,omitempty"`
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	ctx, cancel := s.temporalContext(r)
	defer cancel()
	info, err := s.running(ctx, c, id)
	if err != nil {
		return err
	}
	runID := info.GetExecution().GetRunId()
	_, err = s.tc.WorkflowService().RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
		Namespace:         s.namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Identity:          identity(c),
		RequestId:         randomRequestID(),
	})
	if err != nil {
		return closedRace(id, runID, err)
	}
	writeJSON(w, http.StatusAccepted, controlResponse{WorkflowID: id, RunID: runID, Status: "cancel_requested"})
	return nil
}

// signal sends a signal the workflow's type declares, with its payload
// decoded strictly into the declared payload type.
func (s *Server) signal(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, name := r.PathValue("id"), r.PathValue("name")
	if !signalPattern.MatchString(name) {
		return invalidInput(fieldProblem{Field: "name", Problem: fmt.Sprintf("signal name must match %s", signalPattern)})
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		// Malformed JSON is refused before Temporal is asked for the type.
		var raw json.RawMessage
		if err := decodeStrict(body, &raw, "body"); err != nil {
			return err
		}
	}
	ctx, cancel := s.temporalContext(r)
	defer cancel()
	info, err := s.running(ctx, c, id)
	if err != nil {
		return err
	}
	wf := s.types[info.GetType().GetName()].wf // running checked it is registered
	sig, ok := wf.Signal(name)
	if !ok {
		known := "none"
		if names := wf.SignalNames(); len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return invalidInput(fieldProblem{Field: "name", Problem: fmt.Sprintf("workflow type %s has no signal %q (known: %s)", wf.Name, name, known)})
	}
	var input *commonpb.Payloads
	switch {
	case sig.Payload == nil && len(bytes.TrimSpace(body)) > 0:
		return invalidInput(fieldProblem{Field: "body", Problem: fmt.Sprintf("signal %s takes no payload; send no body", name)})
	case sig.Payload != nil:
		if len(bytes.TrimSpace(body)) == 0 {
			return invalidInput(fieldProblem{Field: "body", Problem: fmt.Sprintf("signal %s takes a payload", name)})
		}
		payload := sig.Payload()
		if err := decodeStrict(body, payload, "body"); err != nil {
			return err
		}
		if v, ok := payload.(registry.Validator); ok {
			if err := v.Validate(); err != nil {
				return invalidInput(validationProblems(err, "body")...)
			}
		}
		if sig.Stamp != nil {
			// After decoding: whatever the client put there is overwritten.
			sig.Stamp(payload, c.Subject)
		}
		if input, err = s.dc.ToPayloads(payload); err != nil {
			return fmt.Errorf("encode %s payload: %w", name, err)
		}
	}
	runID := info.GetExecution().GetRunId()
	_, err = s.tc.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
		Namespace:         s.namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		SignalName:        name,
		Input:             input,
		Identity:          identity(c),
		RequestId:         randomRequestID(),
	})
	if err != nil {
		return closedRace(id, runID, err)
	}
	writeJSON(w, http.StatusAccepted, controlResponse{WorkflowID: id, RunID: runID, Status: "signaled", Signal: name})
	return nil
}

// running describes workflow id for c and checks that it is still running:
// a closed workflow can be neither canceled nor signaled (409).
func (s *Server) running(ctx context.Context, c *caller, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	info, err := s.describe(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if st := info.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, notRunning(id, info.GetExecution().GetRunId(), statusName(st))
	}
	return info, nil
}

// closedRace maps the NotFound Temporal answers when the run closed between
// describe and the call.
func closedRace(id, runID string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return notRunning(id, runID, "closed")
	}
	return err
}

func notRunning(id, runID, status string) *apiError {
	return newError(http.StatusConflict, codeNotRunning, "workflow is not running (%s)", status).
		with(map[string]string{"workflow_id": id, "run_id": runID, "status": status})
}
