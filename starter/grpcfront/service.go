package grpcfront

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	contextcorepb "contextworker/proto/contextcore"
	workerpb "contextworker/proto/contextworker"
)

// Agent is the chain_of_thought agent of every step the front records.
const Agent = "contextworker.starter"

// RPC names, the chain_of_thought actions.
const (
	rpcStart     = "StartWorkflow"
	rpcStatus    = "GetTaskStatus"
	rpcSchedules = "RegisterSchedules"
)

// Defaults of Options.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultMaxAnswerBytes = 8 << 20
)

// Options are the front's dependencies.
type Options struct {
	// Handler is the starter's HTTP handler (starter.Server.Handler()),
	// which decides every answer. Required.
	Handler http.Handler
	// Timeout caps each RPC, whatever deadline the client set; 0 means
	// DefaultTimeout. The starter bounds each Temporal call itself.
	Timeout time.Duration
	// MaxAnswerBytes caps the starter's answer to one RPC (a workflow's
	// result can be large); beyond it the RPC fails with
	// ResourceExhausted. 0 means DefaultMaxAnswerBytes.
	MaxAnswerBytes int
	// Now is the clock of created_at and latency_ms; nil means time.Now.
	Now func() time.Time
}

// Service implements workerpb.WorkerServiceServer over the starter's
// handler. Create it with New.
type Service struct {
	// Unimplemented answers ExecuteCode, and any RPC added to the proto
	// later, with codes.Unimplemented.
	workerpb.UnimplementedWorkerServiceServer

	handler   http.Handler
	timeout   time.Duration
	maxAnswer int
	now       func() time.Time
}

var _ workerpb.WorkerServiceServer = (*Service)(nil)

// New checks opts and builds the service.
func New(opts Options) (*Service, error) {
	if opts.Handler == nil {
		return nil, errors.New("grpcfront: no starter handler")
	}
	s := &Service{handler: opts.Handler, timeout: opts.Timeout, maxAnswer: opts.MaxAnswerBytes, now: opts.Now}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxAnswer <= 0 {
		s.maxAnswer = DefaultMaxAnswerBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// StartWorkflow starts payload.workflow_type with the rest of the payload
// as its input, as POST /v1/workflows does; unit_id is the Idempotency-Key.
func (s *Service) StartWorkflow(ctx context.Context, in *contextcorepb.ContextUnit) (*contextcorepb.ContextUnit, error) {
	fields := in.GetPayload().AsMap()
	typ := fields["workflow_type"]
	delete(fields, "workflow_type")
	c := call{
		method:         http.MethodPost,
		path:           "/v1/workflows",
		body:           map[string]any{"type": typ, "input": fields},
		idempotencyKey: in.GetUnitId(),
	}
	return s.serve(ctx, rpcStart, in, c, http.StatusAccepted, startField, func(body []byte) (map[string]any, error) {
		var out struct {
			WorkflowID string `json:"workflow_id"`
			RunID      string `json:"run_id"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": out.WorkflowID, "run_id": out.RunID, "status": "started"}, nil
	})
}

// startField names a start's bad field as the caller wrote it: the input
// fields are the payload's own, the type is workflow_type.
func startField(f string) string {
	switch {
	case f == "type":
		return "workflow_type"
	case f == "input":
		return "payload"
	case len(f) > len("input.") && f[:len("input.")] == "input.":
		return f[len("input."):]
	}
	return f
}

// GetTaskStatus reads payload.workflow_id as GET /v1/workflows/{id} does.
func (s *Service) GetTaskStatus(ctx context.Context, in *contextcorepb.ContextUnit) (*contextcorepb.ContextUnit, error) {
	id, ok := in.GetPayload().GetFields()["workflow_id"].GetKind().(*structpb.Value_StringValue)
	if !ok || id.StringValue == "" {
		return nil, s.fail(in, rpcStatus, s.now(), status.New(codes.InvalidArgument, "workflow_id: required, a string"))
	}
	c := call{method: http.MethodGet, path: "/v1/workflows/" + url.PathEscape(id.StringValue)}
	return s.serve(ctx, rpcStatus, in, c, http.StatusOK, nil, func(body []byte) (map[string]any, error) {
		var st struct {
			WorkflowID string          `json:"workflow_id"`
			RunID      string          `json:"run_id"`
			Type       string          `json:"type"`
			Status     string          `json:"status"`
			Result     json.RawMessage `json:"result"`
			Progress   json.RawMessage `json:"progress"`
			Failure    *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"failure"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			return nil, err
		}
		out := map[string]any{"workflow_id": st.WorkflowID, "run_id": st.RunID, "workflow_type": st.Type, "status": st.Status}
		for k, raw := range map[string]json.RawMessage{"result": st.Result, "progress": st.Progress} {
			if len(raw) == 0 || string(raw) == "null" {
				continue // absent, as REST leaves it out
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = v
		}
		if st.Failure != nil {
			out["error"] = map[string]any{"code": st.Failure.Type, "message": st.Failure.Message}
		}
		return out, nil
	})
}

// RegisterSchedules syncs every module's schedules, as POST
// /v1/schedules/sync does (admin only).
func (s *Service) RegisterSchedules(ctx context.Context, in *contextcorepb.ContextUnit) (*contextcorepb.ContextUnit, error) {
	c := call{method: http.MethodPost, path: "/v1/schedules/sync"}
	return s.serve(ctx, rpcSchedules, in, c, http.StatusOK, nil, func(body []byte) (map[string]any, error) {
		var out map[string]any
		return out, json.Unmarshal(body, &out)
	})
}

// serve runs c for rpc and answers the envelope around what decode makes
// of a want answer, or the status of any other answer.
func (s *Service) serve(ctx context.Context, rpc string, in *contextcorepb.ContextUnit, c call, want int, rename func(string) string,
	decode func([]byte) (map[string]any, error)) (*contextcorepb.ContextUnit, error) {
	began := s.now()
	c.traceID = in.GetTraceId()
	r, err := s.do(ctx, c)
	switch {
	case errors.Is(err, errAnswerTooLarge):
		return nil, s.fail(in, rpc, began, status.Newf(codes.ResourceExhausted, "the answer is larger than %d bytes", s.maxAnswer))
	case err != nil:
		return nil, s.fail(in, rpc, began, status.New(codes.Internal, "internal error"))
	case r.status != want:
		return nil, s.fail(in, rpc, began, statusOf(r, rename))
	}
	fields, err := decode(r.body)
	if err != nil {
		return nil, s.fail(in, rpc, began, status.New(codes.Internal, "the starter's answer could not be read"))
	}
	payload, err := structpb.NewStruct(fields)
	if err != nil {
		return nil, s.fail(in, rpc, began, status.New(codes.Internal, "the starter's answer does not fit a Struct"))
	}
	return s.envelope(in, rpc, began, "success", payload), nil
}

// fail is st with the failure's envelope attached as a detail, so the
// caller keeps the trace and provenance of a refused call too.
func (s *Service) fail(in *contextcorepb.ContextUnit, rpc string, began time.Time, st *status.Status) error {
	if withUnit, err := st.WithDetails(s.envelope(in, rpc, began, "failure", nil)); err == nil {
		st = withUnit
	}
	return st.Err()
}

// envelope is the answer unit: the request's trace (or a new one), a new
// unit id whose parent is the request's, the request's chain of thought
// plus this call's step, and the call's latency.
func (s *Service) envelope(in *contextcorepb.ContextUnit, rpc string, began time.Time, outcome string, payload *structpb.Struct) *contextcorepb.ContextUnit {
	now := s.now()
	trace := in.GetTraceId()
	if trace == "" {
		trace = newID()
	}
	chain := append([]*contextcorepb.CotStep{}, in.GetChainOfThought()...)
	chain = append(chain, &contextcorepb.CotStep{Agent: Agent, Action: rpc, Status: outcome, Timestamp: timestamppb.New(now)})
	return &contextcorepb.ContextUnit{
		UnitId:         newID(),
		TraceId:        trace,
		ParentUnitId:   in.GetUnitId(),
		Modality:       contextcorepb.Modality_TEXT,
		Payload:        payload,
		ChainOfThought: chain,
		Metrics:        &contextcorepb.UnitMetrics{LatencyMs: now.Sub(began).Milliseconds()},
		Security:       in.GetSecurity(),
		CreatedAt:      timestamppb.New(now),
	}
}

// newID is a random UUID (version 4), as ContextUnity's unit ids are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
