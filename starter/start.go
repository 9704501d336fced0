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
	"go.temporal.io/sdk/converter"

	"contextworker/registry"
)

// Search attributes the starter sets. They must be registered in the
// namespace as Keyword (the dev stack does, see internal/dev/testenv).
const (
	saTenant   = "TenantId"
	saModule   = "Module"
	saSupplier = "SupplierCode"
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
	supplier  string
}

func (s *Server) start(w http.ResponseWriter, r *http.Request, c *caller) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	plan, err := s.plan(r, c, body)
	if err != nil {
		return err
	}
	req, err := s.startRequest(plan, c)
	if err != nil {
		return err
	}
	ctx, cancel := s.temporalContext(r)
	defer cancel()
	resp, err := s.tc.WorkflowService().StartWorkflowExecution(ctx, req)
	if err != nil {
		var dup *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &dup) {
			s.metrics.starts.WithLabelValues(plan.wf.Name, "conflict").Inc()
			return startConflict(plan, dup.RunId)
		}
		s.metrics.starts.WithLabelValues(plan.wf.Name, "error").Inc()
		return err
	}
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

// plan validates a start request: the type, the input, the tenant and the id.
func (s *Server) plan(r *http.Request, c *caller, body []byte) (*startPlan, error) {
	var req startRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		return nil, err
	}
	if req.Type == "" {
		return nil, invalidInput(fieldProblem{Field: "type", Problem: "required"})
	}
	mod, wf, ok := s.reg.Workflow(req.Type)
	if !ok {
		return nil, invalidInput(fieldProblem{Field: "type", Problem: fmt.Sprintf("unknown workflow type %q (known: %s)", req.Type, strings.Join(s.workflowTypes(), ", "))})
	}
	if req.ID != "" && !clientIDPattern.MatchString(req.ID) {
		return nil, invalidInput(fieldProblem{Field: "id", Problem: fmt.Sprintf("must match %s", clientIDPattern)})
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return nil, err
	}

	input := wf.Input()
	raw := []byte(req.Input)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	if err := decodeStrict(raw, input, "input"); err != nil {
		return nil, err
	}
	if f, ok := stringField(input, "tenant_id"); ok {
		switch f.String() {
		case "":
			f.SetString(c.Tenant)
		case c.Tenant:
		default:
			return nil, newError(http.StatusForbidden, codeForbidden, "input.tenant_id does not match your token's tenant")
		}
	}
	if v, ok := input.(registry.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, invalidInput(validationProblems(err, "input")...)
		}
	}
	if wf.Tenant != nil {
		if t := wf.Tenant(input); t != "" && t != c.Tenant {
			return nil, newError(http.StatusForbidden, codeForbidden, "the input's tenant does not match your token's tenant")
		}
	}

	plan := &startPlan{module: mod, wf: wf, input: input}
	if f, ok := stringField(input, "supplier_code"); ok {
		plan.supplier = f.String()
	}
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
		if idTenant(moduleID) != c.Tenant {
			// A module bug, not the client's: its ids must carry the tenant.
			return nil, fmt.Errorf("module %s: workflow id %q does not carry tenant %q as its second segment", mod.Name(), moduleID, c.Tenant)
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
	case plan.source == idFromClient:
		plan.requestID = requestID("client-id", c.Tenant, fingerprint)
	default:
		plan.requestID = randomRequestID()
	}
	return plan, nil
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
	dc := converter.GetDefaultDataConverter()
	input, err := dc.ToPayloads(p.input)
	if err != nil {
		return nil, fmt.Errorf("encode %s input: %w", p.wf.Name, err)
	}
	summary, err := dc.ToPayload(fmt.Sprintf("%s for tenant %s, started by %s via the starter", p.wf.Name, c.Tenant, c.Subject))
	if err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	attrs := map[string]string{saTenant: c.Tenant, saModule: p.module.Name()}
	if p.supplier != "" {
		attrs[saSupplier] = p.supplier
	}
	sa, err := keywordAttributes(attrs)
	if err != nil {
		return nil, err
	}
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
		SearchAttributes:         sa,
		UserMetadata:             &sdkpb.UserMetadata{Summary: summary},
	}, nil
}

// keywordAttributes encodes Keyword search attributes as the SDK does: a
// JSON payload with its type in the metadata.
func keywordAttributes(attrs map[string]string) (*commonpb.SearchAttributes, error) {
	fields := make(map[string]*commonpb.Payload, len(attrs))
	for k, v := range attrs {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			return nil, fmt.Errorf("encode search attribute %s: %w", k, err)
		}
		p.Metadata["type"] = []byte(enumspb.INDEXED_VALUE_TYPE_KEYWORD.String())
		fields[k] = p
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}, nil
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
