package starter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/searchattr"
)

// visibilityWait bounds polls of Temporal's eventually consistent
// visibility and of workflow progress.
const visibilityWait = 20 * time.Second

// statusOf reads GET /v1/workflows/{id}.
func (h *harness) statusOf(id, token string) (workflowStatus, reply) {
	h.tb.Helper()
	r := h.get(wfPath(id, ""), token)
	var st workflowStatus
	if r.status == http.StatusOK {
		r.decode(h.tb, &st)
	}
	return st, r
}

// awaitStatus polls the workflow until it has status want.
func (h *harness) awaitStatus(id, token, want string) workflowStatus {
	h.tb.Helper()
	var st workflowStatus
	eventually(h.tb, visibilityWait, "workflow "+id+" "+want, func() (bool, string) {
		var r reply
		st, r = h.statusOf(id, token)
		return st.Status == want, fmt.Sprintf("%d %s", r.status, r.body)
	})
	return st
}

// runsOf counts the runs of workflow id that visibility knows, waiting
// until at least one is visible.
func runsOf(tb testing.TB, tc client.Client, id string) []string {
	tb.Helper()
	var runs []string
	eventually(tb, visibilityWait, "visibility of "+id, func() (bool, string) {
		resp, err := tc.ListWorkflow(tb.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", id),
		})
		if err != nil {
			return false, err.Error()
		}
		runs = runs[:0]
		for _, e := range resp.GetExecutions() {
			runs = append(runs, e.GetExecution().GetRunId())
		}
		return len(runs) > 0, "no run visible"
	})
	return runs
}

func TestStartStatusApprove(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	op := h.token(tenant, RoleOperator)

	started := h.startOK(op, map[string]any{"type": typeSleepy, "input": map[string]any{"note": "hello"}}, nil)
	if !strings.HasPrefix(started.WorkflowID, typeSleepy+"/"+tenant+"/") {
		t.Errorf("workflow id %q does not carry the type and tenant", started.WorkflowID)
	}
	if !strings.Contains(started.UIURL, "/namespaces/default/workflows/"+strings.ReplaceAll(started.WorkflowID, "/", "%2F")+"/"+started.RunID) {
		t.Errorf("ui_url %q does not link the run", started.UIURL)
	}
	if !strings.HasSuffix(started.StatusURL, wfPath(started.WorkflowID, "")) {
		t.Errorf("status_url %q, want it to end in %s", started.StatusURL, wfPath(started.WorkflowID, ""))
	}

	// Running: progress comes from the workflow's progress query, and the
	// tenant filled in from the token reached the workflow.
	var st workflowStatus
	eventually(t, visibilityWait, "progress", func() (bool, string) {
		var r reply
		st, r = h.statusOf(started.WorkflowID, op)
		return st.Progress != nil, string(r.body)
	})
	if st.Status != "running" || st.RunID != started.RunID || st.StartTime == nil || st.CloseTime != nil {
		t.Errorf("status %+v, want running since a start time", st)
	}
	if string(st.Progress) != `{"stage":"waiting for approve","note":"hello"}` {
		t.Errorf("progress %s", st.Progress)
	}
	desc, err := h.tc.DescribeWorkflowExecution(t.Context(), started.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes()
	if keyword(sa, searchattr.Tenant.GetName()) != tenant || keyword(sa, searchattr.Module.GetName()) != "startertest" {
		t.Errorf("search attributes TenantId=%q Module=%q", keyword(sa, searchattr.Tenant.GetName()), keyword(sa, searchattr.Module.GetName()))
	}

	// A viewer reads, an operator approves.
	viewer := h.token(tenant, RoleViewer)
	if r := h.post(wfPath(started.WorkflowID, "/signals/approve"), op, `"alice"`); r.status != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	st = h.awaitStatus(started.WorkflowID, viewer, "completed")
	if string(st.Result) != `{"approved_by":"alice","note":"hello"}` || st.CloseTime == nil {
		t.Errorf("completed status %+v, result %s", st, st.Result)
	}

	// Closed: no more signals or cancellation.
	r := h.post(wfPath(started.WorkflowID, "/cancel"), op, nil)
	if r.status != http.StatusConflict || r.errorCode(t) != codeNotRunning {
		t.Errorf("cancel after completion: %d %s, want 409 not_running", r.status, r.body)
	}
}

func TestStatusReportsFailures(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	op := h.token(tenant, RoleOperator)

	failed := h.startOK(op, map[string]any{"type": typeSleepy, "input": map[string]any{"note": failNote}}, nil)
	st := h.awaitStatus(failed.WorkflowID, op, "failed")
	// The code, never the message: messages are for operators.
	if st.Failure == nil || st.Failure.Type != failType || strings.Contains(st.Failure.Message, failMessage) || st.Result != nil {
		t.Errorf("failed workflow: failure %+v, result %s", st.Failure, st.Result)
	}

	terminated := h.startOK(op, map[string]any{"type": typeSleepy, "input": map[string]any{"note": "doomed"}}, nil)
	if err := h.tc.TerminateWorkflow(t.Context(), terminated.WorkflowID, "", "operator pulled the plug"); err != nil {
		t.Fatal(err)
	}
	st = h.awaitStatus(terminated.WorkflowID, op, "terminated")
	if st.Failure == nil || st.Failure.Type != "Terminated" || strings.Contains(st.Failure.Message, "plug") || st.CloseTime == nil {
		t.Errorf("terminated workflow: %+v, failure %+v", st, st.Failure)
	}
}

func TestCancelReachesWorkflow(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	op := h.token(tenant, RoleOperator)
	started := h.startOK(op, map[string]any{"type": typeSleepy, "input": map[string]any{"note": "to cancel"}}, nil)

	r := h.post(wfPath(started.WorkflowID, "/cancel"), op, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	h.awaitStatus(started.WorkflowID, op, "canceled")

	// The workflow itself saw the cancellation and ended with it.
	err := h.tc.GetWorkflow(t.Context(), started.WorkflowID, started.RunID).Get(t.Context(), nil)
	if !temporal.IsCanceledError(err) {
		t.Errorf("workflow result error %v, want a canceled error", err)
	}
}

func TestUnknownWorkflowAnswers404(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	_, r := h.statusOf(typeSleepy+"/"+tenant+"/never-started", h.token(tenant, RoleViewer))
	if r.status != http.StatusNotFound || r.errorCode(t) != codeNotFound {
		t.Errorf("got %d %s, want 404 not_found", r.status, r.body)
	}
}

func TestCrossTenantAccessAnswers404(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	acme, globex := uniqueTenant("acme"), uniqueTenant("globex")
	acmeOp, globexAdmin := h.token(acme, RoleOperator), h.token(globex, RoleAdmin)
	started := h.startOK(acmeOp, map[string]any{"type": typeSleepy, "input": map[string]any{"note": "acme's"}}, nil)
	unknown := h.get(wfPath(typeSleepy+"/"+globex+"/nothing", ""), globexAdmin)

	for name, r := range map[string]reply{
		"read":   h.get(wfPath(started.WorkflowID, ""), globexAdmin),
		"cancel": h.post(wfPath(started.WorkflowID, "/cancel"), globexAdmin, nil),
		"signal": h.post(wfPath(started.WorkflowID, "/signals/approve"), globexAdmin, `"mallory"`),
	} {
		if r.status != http.StatusNotFound {
			t.Errorf("%s by another tenant: got %d %s, want 404", name, r.status, r.body)
		}
		// Indistinguishable from a workflow that does not exist.
		if strings.ReplaceAll(string(r.body), started.WorkflowID, "ID") != strings.ReplaceAll(string(unknown.body), typeSleepy+"/"+globex+"/nothing", "ID") {
			t.Errorf("%s: %s differs from the unknown-id answer %s", name, r.body, unknown.body)
		}
	}
	if st, _ := h.statusOf(started.WorkflowID, acmeOp); st.Status != "running" {
		t.Errorf("acme's workflow is %q after globex's attempts, want running", st.Status)
	}

	// The search attribute is checked, not only the id: a workflow whose
	// id names acme but whose TenantId is globex's is nobody's.
	ctx := t.Context()
	forged := typeSleepy + "/" + acme + "/forged"
	_, err := h.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    forged,
		TaskQueue:             testQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.Tenant.ValueSet(globex)),
	}, typeSleepy, sleepyInput{TenantID: acme, Note: "forged"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.tc.TerminateWorkflow(context.Background(), forged, "", "test over") })
	if _, r := h.statusOf(forged, acmeOp); r.status != http.StatusNotFound {
		t.Errorf("workflow with acme's id and globex's TenantId: acme got %d %s, want 404", r.status, r.body)
	}
	if _, r := h.statusOf(forged, globexAdmin); r.status != http.StatusNotFound {
		t.Errorf("workflow with acme's id and globex's TenantId: globex got %d %s, want 404", r.status, r.body)
	}

	// Listing: each tenant sees its own only.
	eventually(t, visibilityWait, "acme's list", func() (bool, string) {
		var l listResponse
		r := h.get("/v1/workflows", acmeOp)
		r.decode(t, &l)
		return len(l.Workflows) == 1 && l.Workflows[0].WorkflowID == started.WorkflowID, string(r.body)
	})
	var l listResponse
	h.get("/v1/workflows", globexAdmin).decode(t, &l)
	if len(l.Workflows) != 0 {
		t.Errorf("globex lists %+v, want nothing", l.Workflows)
	}
}

func TestIdempotencyKeyStartsOneWorkflow(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	op := h.token(tenant, RoleOperator)
	body := map[string]any{"type": typeSleepy, "input": map[string]any{"note": "once"}}
	key := http.Header{"Idempotency-Key": {"order-4711"}}

	// Concurrent retries, as a client with an aggressive timeout sends them.
	const n = 6
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i] = h.send(req{method: http.MethodPost, path: "/v1/workflows", token: op, body: body, header: key})
		})
	}
	wg.Wait()
	var first startResponse
	for i, r := range replies {
		if r.status != http.StatusAccepted {
			t.Fatalf("start %d: %d %s", i, r.status, r.body)
		}
		var got startResponse
		r.decode(t, &got)
		if i == 0 {
			first = got
		} else if got != first {
			t.Errorf("start %d answered %+v, start 0 %+v", i, got, first)
		}
	}
	if runs := runsOf(t, h.tc, first.WorkflowID); len(runs) != 1 || runs[0] != first.RunID {
		t.Errorf("runs %v, want only %s", runs, first.RunID)
	}

	// The same key for another request is a conflict, naming the original.
	other := map[string]any{"type": typeSleepy, "input": map[string]any{"note": "twice"}}
	r := h.send(req{method: http.MethodPost, path: "/v1/workflows", token: op, body: other, header: key})
	if r.status != http.StatusConflict || r.errorCode(t) != codeIdempotencyConflict || !strings.Contains(string(r.body), first.RunID) {
		t.Errorf("same key, other body: %d %s, want 409 idempotency_conflict naming run %s", r.status, r.body, first.RunID)
	}

	// The same key for another type, or with a client id, would name
	// another workflow id: still the same conflict, and nothing started.
	for _, other := range []map[string]any{
		{"type": typeQuick, "input": map[string]any{"n": 1}},
		{"type": typeSleepy, "id": "other-id", "input": map[string]any{"note": "once"}},
		{"type": typeKeyed, "input": map[string]any{"supplier_code": "s9"}},
	} {
		r := h.send(req{method: http.MethodPost, path: "/v1/workflows", token: op, body: other, header: key})
		if r.status != http.StatusConflict || r.errorCode(t) != codeIdempotencyConflict || !strings.Contains(string(r.body), first.RunID) {
			t.Errorf("same key, %v: %d %s, want 409 idempotency_conflict naming run %s", other, r.status, r.body, first.RunID)
		}
	}

	// Still one workflow after it closed: a late retry gets the original.
	if r := h.post(wfPath(first.WorkflowID, "/signals/approve"), op, `"bob"`); r.status != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	h.awaitStatus(first.WorkflowID, op, "completed")
	if again := h.startOK(op, body, key); again != first {
		t.Errorf("retry after completion answered %+v, want %+v", again, first)
	}
	if runs := runsOf(t, h.tc, first.WorkflowID); len(runs) != 1 {
		t.Errorf("runs %v after a late retry, want one", runs)
	}

	// Keys are per tenant: another tenant's identical key is its own.
	otherTenant := h.token(uniqueTenant("globex"), RoleOperator)
	if theirs := h.startOK(otherTenant, body, key); theirs.WorkflowID == first.WorkflowID {
		t.Errorf("another tenant's key reached workflow %s", theirs.WorkflowID)
	}
}

func TestClientIDIsIdempotent(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	op := h.token(tenant, RoleOperator)
	body := map[string]any{"type": typeSleepy, "id": "batch-7", "input": map[string]any{"note": "batch"}}

	first := h.startOK(op, body, nil)
	if first.WorkflowID != typeSleepy+"/"+tenant+"/batch-7" {
		t.Errorf("workflow id %q, want %s/%s/batch-7", first.WorkflowID, typeSleepy, tenant)
	}
	if again := h.startOK(op, body, nil); again != first {
		t.Errorf("repeated start answered %+v, want %+v", again, first)
	}
	body["input"] = map[string]any{"note": "different"}
	r := h.post("/v1/workflows", op, body)
	if r.status != http.StatusConflict || r.errorCode(t) != codeConflict {
		t.Errorf("same id, other input: %d %s, want 409 conflict", r.status, r.body)
	}
	if runs := runsOf(t, h.tc, first.WorkflowID); len(runs) != 1 {
		t.Errorf("runs %v, want one", runs)
	}
}

func TestModuleIDAllowsOneRunAtATime(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("acme")
	op := h.token(tenant, RoleOperator)
	body := map[string]any{"type": typeKeyed, "input": map[string]any{"supplier_code": "s1"}}

	first := h.startOK(op, body, nil)
	if first.WorkflowID != "keyed/"+tenant+"/s1" {
		t.Errorf("workflow id %q, want the module's keyed/%s/s1", first.WorkflowID, tenant)
	}
	r := h.post("/v1/workflows", op, body)
	if r.status != http.StatusConflict || r.errorCode(t) != codeAlreadyRunning || !strings.Contains(string(r.body), first.RunID) {
		t.Fatalf("second start while running: %d %s, want 409 already_running naming %s", r.status, r.body, first.RunID)
	}
	if r := h.post(wfPath(first.WorkflowID, "/signals/approve"), op, `"carol"`); r.status != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	h.awaitStatus(first.WorkflowID, op, "completed")
	second := h.startOK(op, body, nil)
	if second.WorkflowID != first.WorkflowID || second.RunID == first.RunID {
		t.Errorf("start after completion answered %+v, want a new run of %s", second, first.WorkflowID)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	tenant := uniqueTenant("lister")
	op := h.token(tenant, RoleOperator)
	ids := map[string]bool{}
	for i := range 3 {
		s := h.startOK(op, map[string]any{"type": typeSleepy, "input": map[string]any{"note": fmt.Sprint("n", i)}}, nil)
		ids[s.WorkflowID] = true
	}
	done := h.startOK(op, map[string]any{"type": typeQuick, "input": map[string]any{"n": 1}}, nil)
	h.awaitStatus(done.WorkflowID, op, "completed")

	list := func(query string) listResponse {
		var l listResponse
		r := h.get("/v1/workflows?"+query, op)
		if r.status != http.StatusOK {
			t.Fatalf("list ?%s: %d %s", query, r.status, r.body)
		}
		r.decode(t, &l)
		return l
	}
	eventually(t, visibilityWait, "four workflows listed", func() (bool, string) {
		l := list("")
		return len(l.Workflows) == 4, fmt.Sprint(len(l.Workflows), " listed")
	})
	eventually(t, visibilityWait, "the quick workflow listed as completed", func() (bool, string) {
		l := list("status=completed")
		return len(l.Workflows) == 1 && l.Workflows[0].WorkflowID == done.WorkflowID, fmt.Sprint(l.Workflows)
	})

	p1 := list("type=sleepy&status=running&page_size=2")
	if len(p1.Workflows) != 2 || p1.NextPageToken == "" {
		t.Fatalf("page 1: %+v, want 2 and a next page", p1)
	}
	p2 := list("type=sleepy&status=running&page_size=2&page_token=" + p1.NextPageToken)
	if len(p2.Workflows) != 1 {
		t.Fatalf("page 2: %+v, want 1", p2)
	}
	for _, w := range append(p1.Workflows, p2.Workflows...) {
		if !ids[w.WorkflowID] || w.Status != "running" || w.Type != typeSleepy {
			t.Errorf("listed %+v, want one of the running sleepy workflows", w)
		}
		delete(ids, w.WorkflowID)
	}
	if len(ids) != 0 {
		t.Errorf("not listed: %v", ids)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, nil)
	if r := h.get("/readyz", ""); r.status != http.StatusOK {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
}
