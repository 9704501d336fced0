package starter

import (
	"net/http"
	"testing"
)

func TestReadyzWithoutNamespace(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, func(o *Options) { o.Namespace = "no-such-namespace" })
	if r := h.get("/readyz", ""); r.status != http.StatusServiceUnavailable || r.errorCode(t) != codeNotReady {
		t.Errorf("readyz for a namespace that does not exist: %d %s, want 503 not_ready", r.status, r.body)
	}
}

func TestOpenRunsCappedPerTenantAndType(t *testing.T) {
	t.Parallel()
	h := integrationHarness(t, func(o *Options) { o.Config.MaxRunningByType = map[string]int{typeSleepy: 2} })
	tenant := uniqueTenant("capped")
	op := h.token(tenant, RoleOperator)
	sleepy := func(note string) map[string]any {
		return map[string]any{"type": typeSleepy, "input": map[string]any{"note": note}}
	}
	first := h.startOK(op, sleepy("one"), nil)
	h.startOK(op, sleepy("two"), nil)

	r := h.post("/v1/workflows", op, sleepy("three"))
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != codeTooManyRuns || r.header.Get("Retry-After") == "" {
		t.Fatalf("third open sleepy: %d %s (Retry-After %q), want 429 too_many_runs with Retry-After", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Other types and other tenants have caps of their own.
	h.startOK(op, map[string]any{"type": typeQuick, "input": map[string]any{"n": 1}}, nil)
	h.startOK(h.token(uniqueTenant("free"), RoleOperator), sleepy("elsewhere"), nil)

	// Once a run closes (and visibility has seen it), a start fits again.
	if r := h.post(wfPath(first.WorkflowID, "/signals/approve"), op, `"dave"`); r.status != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	h.awaitStatus(first.WorkflowID, op, "completed")
	eventually(t, visibilityWait, "a start after a run closed", func() (bool, string) {
		r := h.post("/v1/workflows", op, sleepy("three"))
		return r.status == http.StatusAccepted, string(r.body)
	})
}
