package starter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/deploy/hook"
	"contextworker/registry"
	wf "contextworker/workflows/deploy"
)

// deployStack is a starter with the deploy module on the dev server, a
// worker running the deploy module and the real database.
type deployStack struct {
	*harness
	// tenant owns the hook; repos is the allowed repositories' prefix.
	tenant, repos string
}

func newDeployStack(t *testing.T) *deployStack {
	t.Helper()
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	db := stacktest.DB(t, dsn)
	hostPort, ns := testenv.Temporal(t)
	reg := deployRegistry(t)
	dir := t.TempDir()
	s := &deployStack{tenant: uniqueTenant("deploy"), repos: filepath.Join(dir, "repos") + "/"}
	yml := deployYAML(dir, s.repos, s.tenant)
	stacktest.Worker(t, reg, yml, hostPort, ns, dsn)
	s.harness = newHarness(t, testenv.TemporalClient(t), func(o *Options) {
		o.Registry = reg
		o.ModuleConfig = moduleConfigOf(t, reg, yml)
		o.LookupEnv = testLookupEnv
		o.Database = func(context.Context) (*pgxpool.Pool, error) { return db, nil }
	})
	return s
}

// TestDeployRoutesOnTheStack: /v1/execute is an admin's, runs under the
// target's policy and is audited with the caller as requester; the audit
// is readable by the tenant's operators only; a signed push starts a
// deploy requested by the hook, a bad signature starts nothing.
func TestDeployRoutesOnTheStack(t *testing.T) {
	s := newDeployStack(t)
	tenant := uniqueTenant("exec")
	op, admin, otherOp := s.token(tenant, RoleOperator), s.token(tenant, RoleAdmin), s.token(uniqueTenant("other"), RoleOperator)

	// A command the policy refuses: the start is accepted, the workflow
	// refuses and audits it. requester is the token's sub, not the body's.
	cmd := map[string]any{"target": "local", "argv": []string{"sh", "-c", "id"}, "requester": "mallory"}
	if r := s.post("/v1/execute", op, cmd); r.status != http.StatusForbidden {
		t.Fatalf("execute as operator: %d %s, want 403", r.status, r.body)
	}
	r := s.post("/v1/execute", admin, cmd)
	if r.status != http.StatusAccepted {
		t.Fatalf("execute as admin: %d %s, want 202", r.status, r.body)
	}
	var started startResponse
	r.decode(t, &started)
	if owner, ok := registryWorkflow(t, s.harness, wf.ExecWorkflowName).OwnerOfID(started.WorkflowID); !ok || owner != tenant {
		t.Errorf("workflow id %q is not %s's", started.WorkflowID, tenant)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := s.tc.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != wf.ErrPolicyRefused {
		t.Fatalf("deploy-exec ended with %v, want %s", err, wf.ErrPolicyRefused)
	}

	auditPath := "/v1/audit?workflow_id=" + url.QueryEscape(started.WorkflowID)
	r = s.get(auditPath, op)
	var page auditPage
	r.decode(t, &page)
	if r.status != http.StatusOK || len(page.Entries) != 1 {
		t.Fatalf("audit as the tenant's operator: %d %s, want one row", r.status, r.body)
	}
	if e := page.Entries[0]; e.Phase != "refused" || e.RefusedRule == nil || *e.RefusedRule != "program.never" ||
		e.Requester == nil || *e.Requester != "alice" || e.TenantID != tenant {
		t.Errorf("audit row %+v, want a refusal by program.never requested by alice", e)
	}
	r = s.get(auditPath, otherOp)
	page = auditPage{}
	r.decode(t, &page)
	if r.status != http.StatusOK || len(page.Entries) != 0 {
		t.Errorf("audit as another tenant's operator: %d %s, want no rows", r.status, r.body)
	}
	if r := s.get("/v1/audit", s.token(tenant, RoleViewer)); r.status != http.StatusForbidden {
		t.Errorf("audit as a viewer: %d %s, want 403", r.status, r.body)
	}

	// Webhooks.
	commit := strings.Repeat("ab", 20)
	body := pushBody(t, s.repos+"shop.git", "main", commit)
	deployID := wf.WorkflowID(s.tenant, "local", "shop")
	r = s.send(req{method: http.MethodPost, path: "/v1/hooks/git", body: body,
		header: http.Header{hook.SignatureHeader: {hook.Sign([]byte("not the secret"), []byte(body))}}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("badly signed push: %d %s, want 401", r.status, r.body)
	}
	var notFound *serviceerror.NotFound
	if _, err := s.tc.DescribeWorkflowExecution(t.Context(), deployID, ""); !errors.As(err, &notFound) {
		t.Fatalf("after a badly signed push, describe %s: %v, want not found", deployID, err)
	}
	r = s.send(req{method: http.MethodPost, path: "/v1/hooks/git", body: body,
		header: http.Header{hook.SignatureHeader: {hook.Sign([]byte(hookSecret), []byte(body))}}})
	if r.status != http.StatusAccepted {
		t.Fatalf("signed push: %d %s, want 202", r.status, r.body)
	}
	started = startResponse{}
	r.decode(t, &started)
	if started.WorkflowID != deployID {
		t.Errorf("signed push started %q, want %q", started.WorkflowID, deployID)
	}
	t.Cleanup(func() { _ = s.tc.TerminateWorkflow(context.Background(), deployID, "", "test over") })
	in := startInput[wf.Input](t, s.harness, deployID, started.RunID)
	if in.TenantID != s.tenant || in.Ref != commit || in.Target != "local" || in.Module != "shop" || in.Requester != "hook:shop-main" {
		t.Errorf("deploy started with %+v, want the hook's deploy of %s requested by hook:shop-main", in, commit)
	}
}

// registryWorkflow is the declaration of workflow type name in h's registry.
func registryWorkflow(t *testing.T, h *harness, name string) registry.Workflow {
	t.Helper()
	wt, ok := h.srv.types[name]
	if !ok {
		t.Fatalf("no workflow type %q", name)
	}
	return wt.wf
}

// startInput decodes the input a run was started with, from its history.
func startInput[T any](t *testing.T, h *harness, id, runID string) T {
	t.Helper()
	var in T
	it := h.tc.GetWorkflowHistory(t.Context(), id, runID, false, 0)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	a := ev.GetWorkflowExecutionStartedEventAttributes()
	if a == nil {
		t.Fatalf("first event of %s is %s", id, ev.GetEventType())
	}
	if err := h.srv.dc.FromPayloads(a.GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	return in
}
