package grpcfront

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	contextcorepb "contextworker/proto/contextcore"
	workerpb "contextworker/proto/contextworker"
)

// seen is what the fake starter received.
type seen struct {
	method, uri, remote string
	header              http.Header
	body                map[string]any
	deadline            time.Duration // left when the request arrived
}

// fakeStarter records each request and answers with status and body.
type fakeStarter struct {
	mu     sync.Mutex
	got    []seen
	status int
	header http.Header
	body   string
}

func (f *fakeStarter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := seen{method: r.Method, uri: r.RequestURI, remote: r.RemoteAddr, header: r.Header.Clone()}
	if dl, ok := r.Context().Deadline(); ok {
		s.deadline = time.Until(dl)
	}
	if data, _ := io.ReadAll(r.Body); len(data) > 0 {
		_ = json.Unmarshal(data, &s.body)
	}
	f.mu.Lock()
	f.got = append(f.got, s)
	f.mu.Unlock()
	for k, v := range f.header {
		w.Header()[k] = v
	}
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func (f *fakeStarter) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the starter got no request")
	}
	return f.got[len(f.got)-1]
}

// serveFake serves a front over f on a real listener and returns a client.
func serveFake(t *testing.T, f *fakeStarter, opts Options, maxBody int64) workerpb.WorkerServiceClient {
	t.Helper()
	opts.Handler = f
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := NewServer(svc, maxBody)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return workerpb.NewWorkerServiceClient(conn)
}

func unit(t *testing.T, payload map[string]any) *contextcorepb.ContextUnit {
	t.Helper()
	p, err := structpb.NewStruct(payload)
	if err != nil {
		t.Fatal(err)
	}
	return &contextcorepb.ContextUnit{
		UnitId: "unit-1", TraceId: "trace-1", Payload: p,
		ChainOfThought: []*contextcorepb.CotStep{{Agent: "router", Action: "route", Status: "success"}},
	}
}

func withToken(t *testing.T, token string) context.Context {
	t.Helper()
	return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+token)
}

func TestStartWorkflowRequestAndEnvelope(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{status: http.StatusAccepted, body: `{"workflow_id":"echo/acme/k","run_id":"r1","status_url":"x"}`}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := serveFake(t, f, Options{Timeout: 5 * time.Second, Now: func() time.Time { return clock }}, 1<<20)

	in := unit(t, map[string]any{"workflow_type": "echo", "tenant_id": "acme", "note": "hi", "n": 3})
	out, err := c.StartWorkflow(withToken(t, "tok"), in)
	if err != nil {
		t.Fatal(err)
	}
	got := f.last(t)
	if got.method != http.MethodPost || got.uri != "/v1/workflows" {
		t.Errorf("request %s %s", got.method, got.uri)
	}
	if got.header.Get("Authorization") != "Bearer tok" || got.header.Get("Idempotency-Key") != "unit-1" ||
		got.header.Get(traceHeader) != "trace-1" || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", got.header)
	}
	if host, _, _ := net.SplitHostPort(got.remote); host != "127.0.0.1" {
		t.Errorf("remote address %q, want the peer's", got.remote)
	}
	if got.deadline <= 0 || got.deadline > 5*time.Second {
		t.Errorf("request deadline in %s, want within the 5s cap", got.deadline)
	}
	body, _ := json.Marshal(got.body)
	if string(body) != `{"input":{"n":3,"note":"hi","tenant_id":"acme"},"type":"echo"}` {
		t.Errorf("body %s", body)
	}

	if p := out.GetPayload().AsMap(); p["workflow_id"] != "echo/acme/k" || p["run_id"] != "r1" || p["status"] != "started" || len(p) != 3 {
		t.Errorf("payload %v", p)
	}
	if out.GetTraceId() != "trace-1" || out.GetParentUnitId() != "unit-1" || out.GetUnitId() == "" || out.GetUnitId() == "unit-1" {
		t.Errorf("ids unit=%q parent=%q trace=%q", out.GetUnitId(), out.GetParentUnitId(), out.GetTraceId())
	}
	if !out.GetCreatedAt().AsTime().Equal(clock) || out.GetMetrics() == nil {
		t.Errorf("created_at %v, metrics %v", out.GetCreatedAt(), out.GetMetrics())
	}
	chain := out.GetChainOfThought()
	if len(chain) != 2 || chain[0].GetAgent() != "router" || chain[1].GetAgent() != Agent || chain[1].GetAction() != "StartWorkflow" || chain[1].GetStatus() != "success" {
		t.Errorf("chain of thought %v", chain)
	}
}

func TestGetTaskStatusMapsTheAnswer(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{status: http.StatusOK, body: `{"workflow_id":"echo/acme/k","run_id":"r1","type":"echo","status":"failed","task_queue":"q",` +
		`"result":null,"failure":{"message":"a step of the workflow failed","type":"ActivityFailed"}}`}
	c := serveFake(t, f, Options{}, 1<<20)
	out, err := c.GetTaskStatus(withToken(t, "tok"), unit(t, map[string]any{"workflow_id": "echo/acme/k 1"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.last(t); got.method != http.MethodGet || got.uri != "/v1/workflows/echo%2Facme%2Fk%201" || got.header.Get("Idempotency-Key") != "" {
		t.Errorf("request %s %s %v", got.method, got.uri, got.header)
	}
	p := out.GetPayload().AsMap()
	want := `{"error":{"code":"ActivityFailed","message":"a step of the workflow failed"},"run_id":"r1","status":"failed","workflow_id":"echo/acme/k","workflow_type":"echo"}`
	if b, _ := json.Marshal(p); string(b) != want {
		t.Errorf("payload %s, want %s", b, want)
	}

	_, err = c.GetTaskStatus(withToken(t, "tok"), unit(t, map[string]any{"workflow_id": 7}))
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "workflow_id") {
		t.Errorf("numeric workflow_id: %v, want InvalidArgument naming workflow_id", err)
	}
}

func TestErrorsCarryTheFailureEnvelope(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{status: http.StatusForbidden, body: `{"error":{"code":"forbidden","message":"this needs the admin role"}}`}
	c := serveFake(t, f, Options{}, 1<<20)
	_, err := c.RegisterSchedules(withToken(t, "tok"), unit(t, nil))
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied || st.Message() != "this needs the admin role" {
		t.Fatalf("status %s %q", st.Code(), st.Message())
	}
	if got := f.last(t); got.method != http.MethodPost || got.uri != "/v1/schedules/sync" || got.body != nil {
		t.Errorf("request %s %s %v", got.method, got.uri, got.body)
	}
	var u *contextcorepb.ContextUnit
	for _, d := range st.Details() {
		if d, ok := d.(*contextcorepb.ContextUnit); ok {
			u = d
		}
	}
	steps := u.GetChainOfThought()
	if u.GetTraceId() != "trace-1" || len(steps) != 2 || steps[1].GetAction() != "RegisterSchedules" || steps[1].GetStatus() != "failure" {
		t.Errorf("failure envelope %v", u)
	}
}

func TestExecuteCodeIsUnimplemented(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{status: http.StatusOK, body: `{}`}
	c := serveFake(t, f, Options{}, 1<<20)
	_, err := c.ExecuteCode(withToken(t, "tok"), unit(t, map[string]any{"code": "print(1)"}))
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("ExecuteCode: %v, want Unimplemented", err)
	}
	if len(f.got) != 0 {
		t.Errorf("ExecuteCode reached the starter: %v", f.got)
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	t.Run("a message over the limit is refused before it is decoded", func(t *testing.T) {
		t.Parallel()
		f := &fakeStarter{status: http.StatusAccepted, body: `{}`}
		c := serveFake(t, f, Options{}, 1024)
		big := strings.Repeat("x", 1024+envelopeOverhead)
		_, err := c.StartWorkflow(withToken(t, "tok"), unit(t, map[string]any{"workflow_type": "echo", "note": big}))
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("oversized message: %v, want ResourceExhausted", err)
		}
		if len(f.got) != 0 {
			t.Error("the oversized message reached the starter")
		}
	})
	t.Run("an answer over the limit is cut off", func(t *testing.T) {
		t.Parallel()
		f := &fakeStarter{status: http.StatusOK, body: `{"status":"completed","result":"` + strings.Repeat("x", 4096) + `"}`}
		c := serveFake(t, f, Options{MaxAnswerBytes: 1024}, 1<<20)
		_, err := c.GetTaskStatus(withToken(t, "tok"), unit(t, map[string]any{"workflow_id": "echo/acme/k"}))
		if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "1024") {
			t.Errorf("oversized answer: %v, want ResourceExhausted naming the limit", err)
		}
	})
	t.Run("the client's shorter deadline reaches the starter", func(t *testing.T) {
		t.Parallel()
		f := &fakeStarter{status: http.StatusOK, body: `{"status":"running"}`}
		c := serveFake(t, f, Options{Timeout: time.Hour}, 1<<20)
		ctx, cancel := context.WithTimeout(withToken(t, "tok"), 30*time.Second)
		defer cancel()
		if _, err := c.GetTaskStatus(ctx, unit(t, map[string]any{"workflow_id": "echo/acme/k"})); err != nil {
			t.Fatal(err)
		}
		if d := f.last(t).deadline; d <= 0 || d > 30*time.Second {
			t.Errorf("deadline at the starter in %s, want the client's 30s", d)
		}
	})
}

func TestNewNeedsAHandler(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}); err == nil {
		t.Error("New without a handler succeeded")
	}
}
