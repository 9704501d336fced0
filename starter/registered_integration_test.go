package starter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"contextworker/internal/dev/testenv"
	"contextworker/registry"
)

// exampleInputs are valid start inputs of the workflow types the built-in
// modules register. TestEveryRegisteredTypeThroughTheStarter runs every
// registered type; a new module's types need an entry here.
var exampleInputs = map[string]string{
	"harvest":       `{"supplier_code":"s1","feed_url":"https://feeds.example.com/s1.csv","format":"csv"}`,
	"gardener":      `{}`,
	"ingest":        `{"source":"field-notes","text":"a note"}`,
	"ingest-batch":  `{"source":"field-notes","urls":["https://docs.example.com/a.txt"]}`,
	"ingest-review": `{"sno_id":"0123456789abcdef","decision":"release"}`,
	"deploy":        `{"repository":"https://git.example/acme/shop.git","ref":"main","target":"local"}`,
	"deploy-exec":   `{"target":"local","argv":["python3","-V"]}`,
}

// registeredConfig is the modules' configuration the example inputs need:
// a deploy target and the repositories they name.
func registeredConfig(dir string) string {
	return deployYAML(dir, "https://git.example/acme/", "acme")
}

// TestEveryRegisteredTypeThroughTheStarter starts, reads, signals (every
// declared signal, with a zero payload of its declared type) and cancels
// one run of each workflow type in registry.Default() through the starter.
// No worker polls the modules' task queues, so each run stays open and
// the test sees exactly what the starter did, in the run's history.
func TestEveryRegisteredTypeThroughTheStarter(t *testing.T) {
	t.Parallel()
	testenv.Integration(t)
	moduleConfig := moduleConfigOf(t, registry.Default(), registeredConfig(t.TempDir()))
	h := newHarness(t, testenv.TemporalClient(t), func(o *Options) {
		o.Registry = registry.Default()
		o.ModuleConfig = moduleConfig
	})
	tenant, other := uniqueTenant("every"), uniqueTenant("other")
	otherOp := h.token(other, RoleAdmin)

	for _, m := range registry.Default().Modules() {
		for _, wf := range m.Workflows() {
			t.Run(wf.Name, func(t *testing.T) {
				t.Parallel()
				input, ok := exampleInputs[wf.Name]
				if !ok {
					t.Fatalf("no example input for workflow type %q of module %s: add one to exampleInputs", wf.Name, m.Name())
				}
				// The least role that may start the type does everything.
				role := wf.StartRole
				if role == "" {
					role = RoleOperator
				}
				op := h.token(tenant, role)
				started := h.startOK(op, map[string]any{"type": wf.Name, "input": json.RawMessage(input)}, nil)
				id := started.WorkflowID
				t.Cleanup(func() { _ = h.tc.TerminateWorkflow(t.Context(), id, "", "test over") })
				if owner, ok := wf.OwnerOfID(id); !ok || owner != tenant {
					t.Errorf("workflow id %q is not %s's by the type's own rule (%q, %v)", id, tenant, owner, ok)
				}

				st, r := h.statusOf(id, op)
				if r.status != http.StatusOK || st.Status != "running" || st.Type != wf.Name || st.RunID != started.RunID {
					t.Fatalf("read: %d %s", r.status, r.body)
				}
				if _, r := h.statusOf(id, otherOp); r.status != http.StatusNotFound {
					t.Errorf("read by another tenant: %d %s, want 404", r.status, r.body)
				}

				for _, sig := range wf.Signals {
					var body any // no payload: no body
					if sig.Payload != nil {
						body = sig.Payload()
					}
					if r := h.post(wfPath(id, "/signals/"+sig.Name), op, body); r.status != http.StatusAccepted {
						t.Errorf("signal %s: %d %s", sig.Name, r.status, r.body)
					}
				}
				r = h.post(wfPath(id, "/signals/no_such_signal"), op, nil)
				want := fmt.Sprintf("(known: %s)", strings.Join(wf.SignalNames(), ", "))
				if len(wf.Signals) == 0 {
					want = "(known: none)"
				}
				if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), want) {
					t.Errorf("unknown signal: %d %s, want 400 listing %s", r.status, r.body, want)
				}
				if r := h.post(wfPath(id, "/cancel"), op, nil); r.status != http.StatusAccepted {
					t.Errorf("cancel: %d %s", r.status, r.body)
				}

				// The run's history holds exactly what was sent.
				var signaled []string
				canceled := false
				it := h.tc.GetWorkflowHistory(t.Context(), id, started.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
				for it.HasNext() {
					ev, err := it.Next()
					if err != nil {
						t.Fatal(err)
					}
					if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
						signaled = append(signaled, a.GetSignalName())
					}
					canceled = canceled || ev.GetWorkflowExecutionCancelRequestedEventAttributes() != nil
				}
				if got, want := strings.Join(signaled, ","), strings.Join(wf.SignalNames(), ","); got != want {
					t.Errorf("signals in history %q, want %q", got, want)
				}
				if !canceled {
					t.Error("no cancel request in the history")
				}
			})
		}
	}
}
