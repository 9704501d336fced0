package grpcfront_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"contextworker/internal/config"
	"contextworker/internal/dev/testenv"
	"contextworker/internal/secret"
	contextcorepb "contextworker/proto/contextcore"
	workerpb "contextworker/proto/contextworker"
	"contextworker/registry"
	"contextworker/starter"
	"contextworker/starter/grpcfront"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	testIssuer   = "grpcfront-test"
	testAudience = "starter-test"
)

// stack is a real starter on the dev server with a worker for the test
// module, and a gRPC client of its front over TCP.
type stack struct {
	t          *testing.T
	secret     []byte
	tc         client.Client
	client     workerpb.WorkerServiceClient
	scheduleID string
	log        *syncBuffer // the starter's log
}

// syncBuffer is a log sink safe for the starter's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newStack(t *testing.T) *stack {
	t.Helper()
	testenv.Integration(t)
	tc := testenv.TemporalClient(t)
	w := worker.New(tc, testQueue, worker.Options{})
	if err := (testModule{}).Register(t.Context(), registry.Deps{}, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatalf("start test worker: %v", err)
	}
	t.Cleanup(w.Stop)

	st := &stack{t: t, secret: []byte(rand.Text() + rand.Text()), tc: tc, scheduleID: "grpcfront-test-" + rand.Text()[:8]}
	secretFile := filepath.Join(t.TempDir(), "jwt-secret")
	if err := os.WriteFile(secretFile, st.secret, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultStarter()
	cfg.JWT.HS256Secret = secret.Ref{File: secretFile}
	cfg.JWT.Issuer, cfg.JWT.Audience = testIssuer, testAudience
	keys, err := starter.LoadKeySet(cfg.JWT, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	if err := reg.Register(testModule{}); err != nil {
		t.Fatal(err)
	}
	st.log = &syncBuffer{}
	var sink io.Writer = st.log
	if testing.Verbose() {
		sink = io.MultiWriter(st.log, os.Stderr)
	}
	logger := slog.New(slog.NewTextHandler(sink, nil))
	srv, err := starter.New(starter.Options{
		Temporal: tc, Registry: reg, Config: cfg, Namespace: testenv.TemporalNamespace, Logger: logger, Keys: keys,
		ModuleConfig: func(m string) any {
			if m == (testModule{}).Name() {
				return &moduleConfig{ScheduleID: st.scheduleID}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The schedule the sync made, if it did. t.Context() is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tc.ScheduleClient().GetHandle(ctx, st.scheduleID).Delete(ctx)
	})

	svc, err := grpcfront.New(grpcfront.Options{Handler: srv.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpcfront.NewServer(svc, cfg.MaxBodyBytes)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	st.client = workerpb.NewWorkerServiceClient(conn)
	return st
}

// token is a valid HS256 token for tenant with roles.
func (st *stack) token(tenant string, roles ...string) string {
	st.t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "tenant_id": tenant, "roles": roles, "iss": testIssuer, "aud": testAudience,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(st.secret)
	if err != nil {
		st.t.Fatal(err)
	}
	return tok
}

// as is a call context carrying token ("" for none).
func (st *stack) as(token string) context.Context {
	ctx, cancel := context.WithTimeout(st.t.Context(), 30*time.Second)
	st.t.Cleanup(cancel)
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// unit is a request envelope with payload, a fresh unit id and trace id.
func unit(t *testing.T, payload map[string]any) *contextcorepb.ContextUnit {
	t.Helper()
	p, err := structpb.NewStruct(payload)
	if err != nil {
		t.Fatal(err)
	}
	return &contextcorepb.ContextUnit{UnitId: rand.Text(), TraceId: "trace-" + rand.Text()[:10], Payload: p, CreatedAt: nil}
}

// wantCode fails unless err is a status with code, and returns it.
func wantCode(t *testing.T, what string, err error, code codes.Code) *status.Status {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
	return st
}

func tenant(prefix string) string { return fmt.Sprintf("%s-%s", prefix, rand.Text()[:8]) }

func TestWorkerServiceOnTheRealStack(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	acme, other := tenant("acme"), tenant("other")
	op := st.token(acme, starter.RoleOperator)

	// StartWorkflow of a registered type; the tenant comes from the token.
	req := unit(t, map[string]any{"workflow_type": typeEcho, "note": "hello"})
	started, err := st.client.StartWorkflow(st.as(op), req)
	if err != nil {
		t.Fatalf("StartWorkflow: %v", err)
	}
	p := started.GetPayload().AsMap()
	id, _ := p["workflow_id"].(string)
	if id == "" || p["run_id"] == "" || p["status"] != "started" {
		t.Fatalf("start payload %v", p)
	}
	if started.GetTraceId() != req.GetTraceId() || started.GetParentUnitId() != req.GetUnitId() {
		t.Errorf("answer trace %q parent %q, want %q %q", started.GetTraceId(), started.GetParentUnitId(), req.GetTraceId(), req.GetUnitId())
	}
	if !strings.Contains(st.log.String(), "trace_id="+req.GetTraceId()) {
		t.Errorf("the starter's log does not name trace_id %s", req.GetTraceId())
	}
	steps := started.GetChainOfThought()
	if len(steps) != 1 || steps[0].GetAgent() != grpcfront.Agent || steps[0].GetAction() != "StartWorkflow" || steps[0].GetStatus() != "success" {
		t.Errorf("provenance %v", steps)
	}

	// The same unit again is the same start (its unit_id is the
	// Idempotency-Key): same workflow and run, nothing new started.
	again, err := st.client.StartWorkflow(st.as(op), req)
	if err != nil {
		t.Fatalf("StartWorkflow again: %v", err)
	}
	if a := again.GetPayload().AsMap(); a["workflow_id"] != id || a["run_id"] != p["run_id"] {
		t.Errorf("retried start %v, want %s %s", a, id, p["run_id"])
	}

	// GetTaskStatus until completed, as a viewer of the tenant.
	viewer := st.token(acme, starter.RoleViewer)
	var last map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		out, err := st.client.GetTaskStatus(st.as(viewer), unit(t, map[string]any{"workflow_id": id}))
		if err != nil {
			t.Fatalf("GetTaskStatus: %v", err)
		}
		if last = out.GetPayload().AsMap(); last["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not completed after 30s: %v", last)
		}
		time.Sleep(wait)
	}
	result, _ := last["result"].(map[string]any)
	if result["note"] != "hello" || result["tenant"] != acme || last["workflow_type"] != typeEcho {
		t.Errorf("completed status %v, want the note and the token's tenant", last)
	}

	// Another tenant's workflow is not found, exactly like an unknown one.
	_, err = st.client.GetTaskStatus(st.as(st.token(other, starter.RoleAdmin)), unit(t, map[string]any{"workflow_id": id}))
	wantCode(t, "cross-tenant GetTaskStatus", err, codes.NotFound)
	_, err = st.client.GetTaskStatus(st.as(viewer), unit(t, map[string]any{"workflow_id": typeEcho + "/" + acme + "/nope"}))
	wantCode(t, "unknown workflow", err, codes.NotFound)
}

func TestWorkerServiceRefusals(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	acme := tenant("acme")
	op := st.token(acme, starter.RoleOperator)
	start := map[string]any{"workflow_type": typeEcho, "note": "x"}

	t.Run("missing token", func(t *testing.T) {
		_, err := st.client.StartWorkflow(st.as(""), unit(t, start))
		wantCode(t, "start without a token", err, codes.Unauthenticated)
		_, err = st.client.GetTaskStatus(st.as(""), unit(t, map[string]any{"workflow_id": "echo/" + acme + "/x"}))
		wantCode(t, "status without a token", err, codes.Unauthenticated)
	})
	t.Run("bad token", func(t *testing.T) {
		_, err := st.client.StartWorkflow(metadata.AppendToOutgoingContext(st.as(""), "authorization", "Bearer not.a.token"), unit(t, start))
		wantCode(t, "start with a bad token", err, codes.Unauthenticated)
	})
	t.Run("viewer may not start", func(t *testing.T) {
		_, err := st.client.StartWorkflow(st.as(st.token(acme, starter.RoleViewer)), unit(t, start))
		wantCode(t, "start as viewer", err, codes.PermissionDenied)
	})
	t.Run("bad input names the field", func(t *testing.T) {
		_, err := st.client.StartWorkflow(st.as(op), unit(t, map[string]any{"workflow_type": typeEcho, "colour": "red"}))
		s := wantCode(t, "start with a bad input", err, codes.InvalidArgument)
		var fields []string
		for _, d := range s.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if len(fields) != 1 || fields[0] != "colour" {
			t.Errorf("field violations %v (message %q), want the unknown field colour", fields, s.Message())
		}
	})
	t.Run("missing input field names it", func(t *testing.T) {
		_, err := st.client.StartWorkflow(st.as(op), unit(t, map[string]any{"workflow_type": typeEcho}))
		s := wantCode(t, "start without note", err, codes.InvalidArgument)
		if s.Message() != "note: required" {
			t.Errorf("message %q, want note: required", s.Message())
		}
	})
	t.Run("unknown type names workflow_type", func(t *testing.T) {
		_, err := st.client.StartWorkflow(st.as(op), unit(t, map[string]any{"workflow_type": "nope"}))
		s := wantCode(t, "start of an unknown type", err, codes.InvalidArgument)
		if !strings.HasPrefix(s.Message(), "workflow_type:") {
			t.Errorf("message %q, want it to name workflow_type", s.Message())
		}
	})
	t.Run("input naming another tenant", func(t *testing.T) {
		_, err := st.client.StartWorkflow(st.as(op), unit(t, map[string]any{"workflow_type": typeEcho, "note": "x", "tenant_id": "someone-else"}))
		wantCode(t, "start for another tenant", err, codes.PermissionDenied)
	})
	t.Run("deep nesting is refused by the starter's bound", func(t *testing.T) {
		var deep any = "leaf"
		for range 200 {
			deep = map[string]any{"a": deep}
		}
		_, err := st.client.StartWorkflow(st.as(op), unit(t, map[string]any{"workflow_type": typeEcho, "note": deep}))
		s := wantCode(t, "start with 200 levels of nesting", err, codes.InvalidArgument)
		if !strings.Contains(s.Message(), "nested deeper than") {
			t.Errorf("message %q, want the nesting bound", s.Message())
		}
	})
	t.Run("ExecuteCode", func(t *testing.T) {
		_, err := st.client.ExecuteCode(st.as(op), unit(t, map[string]any{"code": "print(1)"}))
		wantCode(t, "ExecuteCode", err, codes.Unimplemented)
	})
}

func TestRegisterSchedules(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	acme := tenant("acme")

	_, err := st.client.RegisterSchedules(st.as(st.token(acme, starter.RoleOperator)), unit(t, nil))
	wantCode(t, "RegisterSchedules as operator", err, codes.PermissionDenied)
	if _, err := st.tc.ScheduleClient().GetHandle(t.Context(), st.scheduleID).Describe(t.Context()); err == nil {
		t.Fatal("the refused call created the schedule")
	}

	admin := st.token(acme, starter.RoleAdmin)
	for i := range 2 { // idempotent
		out, err := st.client.RegisterSchedules(st.as(admin), unit(t, nil))
		if err != nil {
			t.Fatalf("RegisterSchedules #%d as admin: %v", i+1, err)
		}
		if p := out.GetPayload().AsMap(); p["status"] != "synced" || p["registered_count"] != 1.0 {
			t.Errorf("answer #%d %v, want synced 1", i+1, p)
		}
	}
	desc, err := st.tc.ScheduleClient().GetHandle(t.Context(), st.scheduleID).Describe(t.Context())
	if err != nil {
		t.Fatalf("the synced schedule is not in Temporal: %v", err)
	}
	if !desc.Schedule.State.Paused {
		t.Errorf("schedule %s is not paused as configured", st.scheduleID)
	}
}
