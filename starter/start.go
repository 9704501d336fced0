package starter

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"contextworker/internal/searchattr"
	"contextworker/registry"
)

// startRequest is the body of POST /v1/workflows.
type startRequest struct {
	Type  string          `json:"type"`
	Input json.RawMessage `json:"input"`
	ID    string          `json:"id"`
}

// startResponse is the answer to a start, new or replayed.
type startResponse struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	UIURL      string `json:"ui_url,omitempty"`
	StatusURL  string `json:"status_url"`
}

// idSource says where a workflow id came from; it decides the reuse policy
// and how a conflict is reported.
type idSource int

const (
	idFromModule idSource = iota
	idFromClient
	idFromKey
	idRandom
)

// startPlan is a validated start, ready for Temporal.
type startPlan struct {
	module    registry.Module
	wf        registry.Workflow
	input     any
	id        string
	source    idSource
	requestID string
	// key and fingerprint bind an Idempotency-Key to the request ("" when
	// there is no key).
	key, fingerprint string
}

func (s *Server) start(w http.ResponseWriter, r *http.Request, c *caller) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req startRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		return err
	}
	return s.startWorkflow(w, r, c, req)
}

// startWorkflow validates req, checks the tenant's limits and starts the
// run: the one path of every start route.
func (s *Server) startWorkflow(w http.ResponseWriter, r *http.Request, c *caller, req startRequest) error {
	plan, err := s.plan(r, c, req)
	if err != nil {
		return err
	}
	grpcReq, err := s.startRequest(plan, c)
	if err != nil {
		return err
	}
	binding, err := s.keys.reserve(c.Tenant, plan.key, plan.fingerprint)
	if err != nil {
		return err
	}
	ctx, cancel := s.temporalContext(r)
	defer cancel()
	release, err := s.runs.admit(ctx, c.Tenant, plan.wf.Name)
	if err != nil {
		binding.undo()
		return err
	}
	resp, err := s.tc.WorkflowService().StartWorkflowExecution(ctx, grpcReq)
	if err == nil {
		release(plan.id)
	} else {
		release("")
	}
	if err != nil {
		// The key started nothing: a retry of its first request must still
		// reach Temporal, which remembers that request by its request id.
		binding.undo()
		var dup *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &dup) {
			s.metrics.starts.WithLabelValues(plan.wf.Name, "conflict").Inc()
			return startConflict(plan, dup.RunId)
		}
		s.metrics.starts.WithLabelValues(plan.wf.Name, "error").Inc()
		return err
	}
	binding.done(plan.id, resp.GetRunId())
	// A retry that Temporal recognised by its request id answers exactly as
	// the original start did (Started is true for both), so the two cannot
	// be told apart here, and need not be.
	s.metrics.starts.WithLabelValues(plan.wf.Name, "accepted").Inc()
	writeJSON(w, http.StatusAccepted, startResponse{
		WorkflowID: plan.id,
		RunID:      resp.GetRunId(),
		UIURL:      s.uiURL(plan.id, resp.GetRunId()),
		StatusURL:  s.statusURL(plan.id),
	})
	return nil
}

// readBody reads a JSON request body within the configured size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	limit := s.cfg.MaxBodyBytes
	tooLarge := newError(http.StatusRequestEntityTooLarge, codePayloadTooLarge, "request body is larger than %d bytes", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, badRequest("cannot read request body").because(err)
	}
	return data, nil
}

// plan validates a start request: the type, the input against its type and
// the module's configuration, the tenant and the id.
func (s *Server) plan(r *http.Request, c *caller, req startRequest) (*startPlan, error) {
	if req.Type == "" {
		return nil, invalidInput(fieldProblem{Field: "type", Problem: "required"})
	}
	wt, ok := s.types[req.Type]
	if !ok {
		return nil, invalidInput(fieldProblem{Field: "type", Problem: fmt.Sprintf("unknown workflow type %q (known: %s)", clip(req.Type), strings.Join(s.typeNames, ", "))})
	}
	mod, wf := wt.module, wt.wf
	if req.ID != "" && !clientIDPattern.MatchString(req.ID) {
		return nil, invalidInput(fieldProblem{Field: "id", Problem: fmt.Sprintf("must match %s", clientIDPattern)})
	}
	if err := authorize(c, startRole(wf)); err != nil {
		return nil, err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return nil, err
	}
	input, err := s.decodeInput(wf, req.Input, c)
	if err != nil {
		return nil, err
	}
	if wf.Stamp != nil {
		// After decoding: whatever the client put there is overwritten.
		wf.Stamp(input, c.Subject)
	}
	if wf.Check != nil {
		if err := wf.Check(s.moduleConfig(mod.Name()), input); err != nil {
			return nil, invalidInput(validationProblems(err, "input")...)
		}
	}

	plan := &startPlan{module: mod, wf: wf, input: input}
	canonical, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("encode %s input: %w", wf.Name, err)
	}
	sum := digest(wf.Name, req.ID, string(canonical))
	fingerprint := hex.EncodeToString(sum[:])

	moduleID := ""
	if wf.ID != nil {
		moduleID = wf.ID(input)
	}
	switch {
	case moduleID != "":
		if req.ID != "" {
			return nil, invalidInput(fieldProblem{Field: "id", Problem: fmt.Sprintf("workflow type %q takes its id from the input; leave id out", wf.Name)})
		}
		if owner, ok := wf.OwnerOfID(moduleID); !ok || owner != c.Tenant {
			// A module bug, not the client's: its ids must name their tenant.
			return nil, fmt.Errorf("module %s: workflow id %q is not an id of tenant %q by its own IDTenant", mod.Name(), moduleID, c.Tenant)
		}
		plan.id, plan.source = moduleID, idFromModule
	case req.ID != "":
		plan.id, plan.source = workflowID(wf.Name, c.Tenant, req.ID), idFromClient
	case key != "":
		plan.id, plan.source = workflowID(wf.Name, c.Tenant, keyID(c.Tenant, key)), idFromKey
	default:
		plan.id, plan.source = workflowID(wf.Name, c.Tenant, randomRequestID()), idRandom
	}
	switch {
	case key != "":
		plan.requestID = requestID("idempotency-key", c.Tenant, key, fingerprint)
		plan.key, plan.fingerprint = key, fingerprint
	case plan.source == idFromClient:
		plan.requestID = requestID("client-id", c.Tenant, fingerprint)
	default:
		plan.requestID = randomRequestID()
	}
	return plan, nil
}

// startRole is the least role that starts wf: its declared StartRole, or
// operator.
func startRole(wf registry.Workflow) role {
	if need, ok := roleLevels[wf.StartRole]; ok {
		return need
	}
	return operator
}

// idempotencyKey returns the request's Idempotency-Key, or "".
func idempotencyKey(r *http.Request) (string, error) {
	values := r.Header.Values("Idempotency-Key")
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", badRequest("more than one Idempotency-Key header")
	case !idempotencyKeyPattern.MatchString(values[0]):
		return "", badRequest("Idempotency-Key must be 1 to 255 printable ASCII characters without spaces")
	}
	return values[0], nil
}

// startRequest builds the Temporal request. It calls the gRPC API rather
// than client.ExecuteWorkflow because only the API lets the starter choose
// the request id, which is what makes retried starts idempotent.
func (s *Server) startRequest(p *startPlan, c *caller) (*workflowservice.StartWorkflowExecutionRequest, error) {
	input, err := s.dc.ToPayloads(p.input)
	if err != nil {
		return nil, fmt.Errorf("encode %s input: %w", p.wf.Name, err)
	}
	summary, err := s.dc.ToPayload(fmt.Sprintf("%s for tenant %s, started by %s via the starter", p.wf.Name, c.Tenant, c.Subject))
	if err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	attrs := map[string]string{}
	if p.wf.SearchAttributes != nil {
		for k, v := range p.wf.SearchAttributes(p.input) {
			if v != "" {
				attrs[k] = v
			}
		}
	}
	// The platform's own attributes: a module cannot set them otherwise.
	attrs[searchattr.Tenant.GetName()] = c.Tenant
	attrs[searchattr.Module.GetName()] = p.module.Name()
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if p.source == idFromModule {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace:                s.namespace,
		WorkflowId:               p.id,
		WorkflowType:             &commonpb.WorkflowType{Name: p.wf.Name},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: p.module.TaskQueue(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                    input,
		Identity:                 identity(c),
		RequestId:                p.requestID,
		WorkflowIdReusePolicy:    reuse,
		WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		SearchAttributes:         keywordAttributes(attrs),
		UserMetadata:             &sdkpb.UserMetadata{Summary: summary},
	}, nil
}

// identity is the Temporal identity recorded in the workflow's history: who
// asked, through what.
func identity(c *caller) string {
	id := "starter sub=" + c.Subject
	if len(id) > 200 {
		id = id[:200]
	}
	return id
}

// startConflict explains a start that Temporal refused because the id is
// taken by another request.
func startConflict(p *startPlan, runID string) error {
	details := map[string]string{"workflow_id": p.id, "run_id": runID}
	switch p.source {
	case idFromModule:
		return newError(http.StatusConflict, codeAlreadyRunning, "a %s workflow for this input is already running", p.wf.Name).with(details)
	case idFromKey:
		return newError(http.StatusConflict, codeIdempotencyConflict, "this Idempotency-Key was already used for a different request").with(details)
	}
	return newError(http.StatusConflict, codeConflict, "workflow id is already used by a different request").with(details)
}
