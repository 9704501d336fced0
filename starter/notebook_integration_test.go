package starter

import (
	"net/http"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"contextworker/internal/dev/testenv"
	"contextworker/internal/searchattr"
)

// TestIngestLikeModuleThroughTheStarter runs the notebook module (declared
// in a test, see notebook_test.go) through the starter: the shortcut
// POST /v1/ingest, its own id rule, config check, search attribute,
// signals with and without payload and its progress query. Starter and
// worker share a compressing data converter, which proves every payload
// passes through the starter's converter.
func TestIngestLikeModuleThroughTheStarter(t *testing.T) {
	t.Parallel()
	testenv.Integration(t)
	tc := testenv.TemporalClient(t)
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), converter.NewZlibCodec(converter.ZlibCodecOptions{AlwaysEncode: true}))
	startNotebookWorker(t, tc, dc)
	h := newHarness(t, tc, func(o *Options) {
		o.Registry = notebookRegistry(t)
		o.DataConverter = dc
		o.ModuleConfig = func(module string) any {
			if module == "notebook" {
				return &notebookConfig{Blocked: []string{"spam"}}
			}
			return nil
		}
	})
	tenant := uniqueTenant("notes")
	op := h.token(tenant, RoleOperator)

	// Refused before a run starts.
	for _, tt := range []struct {
		name, body, want string
	}{
		{"empty fields", `{"source":"","text":""}`, "source: required; text: required"},
		{"unknown field", `{"source":"a","text":"b","tenant_id":"x"}`, "tenant_id: unknown field"},
		{"blocked by the module's config", `{"source":"spam","text":"buy"}`, `input.source: \"spam\" is blocked`},
	} {
		if r := h.post("/v1/ingest", op, tt.body); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("%s: %d %s, want 400 with %s", tt.name, r.status, r.body, tt.want)
		}
	}

	started := func() startResponse {
		r := h.post("/v1/ingest", op, map[string]string{"source": "field-notes", "text": "moss on the north side"})
		if r.status != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", r.status, r.body)
		}
		var s startResponse
		r.decode(t, &s)
		return s
	}()
	id := started.WorkflowID
	if id != noteID(tenant, "field-notes") {
		t.Errorf("workflow id %q, want the module's %q", id, noteID(tenant, "field-notes"))
	}
	if r := h.post("/v1/ingest", op, map[string]string{"source": "field-notes", "text": "again"}); r.status != http.StatusConflict || r.errorCode(t) != codeAlreadyRunning {
		t.Errorf("second note of the source while open: %d %s, want 409 already_running", r.status, r.body)
	}

	// Progress comes from the module's progress query, through the codec.
	var st workflowStatus
	eventually(t, visibilityWait, "progress", func() (bool, string) {
		var r reply
		st, r = h.statusOf(id, op)
		return st.Progress != nil, string(r.body)
	})
	if string(st.Progress) != `{"stage":"waiting for release","holds":0,"text_len":22}` {
		t.Errorf("progress %s", st.Progress)
	}
	desc, err := tc.DescribeWorkflowExecution(t.Context(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := keyword(desc.GetWorkflowExecutionInfo().GetSearchAttributes(), searchattr.Supplier.GetName()); got != "field-notes" {
		t.Errorf("SupplierCode %q, want the module's field-notes", got)
	}
	if _, r := h.statusOf(id, h.token(uniqueTenant("other"), RoleAdmin)); r.status != http.StatusNotFound {
		t.Errorf("another tenant reads the note: %d %s, want 404", r.status, r.body)
	}

	// Signals as declared.
	for _, tt := range []struct {
		name, signal string
		body         any
		status       int
		want         string
	}{
		{"unknown signal", "approve", nil, 400, "(known: release, hold)"},
		{"payload for a signal without one", "hold", `{}`, 400, "takes no payload"},
		{"no payload for a signal with one", "release", nil, 400, "takes a payload"},
		{"unknown payload field", "release", `{"by":"alice","colour":1}`, 400, "body.colour: unknown field"},
		{"payload of the wrong shape", "release", `"alice"`, 400, "wrong type"},
		{"invalid payload", "release", `{"reason":"checked"}`, 400, "body.by: required"},
		{"hold", "hold", nil, 202, `"signal":"hold"`},
		// The client names a signer; the starter stamps the token's subject.
		{"release", "release", `{"by":"alice","reason":"checked","signer":"mallory"}`, 202, `"signal":"release"`},
	} {
		if r := h.post(wfPath(id, "/signals/"+tt.signal), op, tt.body); r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
	st = h.awaitStatus(id, op, "completed")
	if string(st.Result) != `{"source":"field-notes","released_by":"alice","reason":"checked","signed_by":"alice","holds":1}` {
		t.Errorf("result %s", st.Result)
	}

	// Every payload the starter wrote went through its converter.
	it := tc.GetWorkflowHistory(t.Context(), id, started.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	encodings := map[string]string{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			encodings["input"] = string(a.GetInput().GetPayloads()[0].GetMetadata()[converter.MetadataEncoding])
		}
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == notebookRelease {
			encodings["release"] = string(a.GetInput().GetPayloads()[0].GetMetadata()[converter.MetadataEncoding])
		}
	}
	for _, what := range []string{"input", "release"} {
		if encodings[what] != "binary/zlib" {
			t.Errorf("%s payload encoded as %q, want binary/zlib", what, encodings[what])
		}
	}
}

func TestIngestWithoutModuleAnswers404(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	r := h.post("/v1/ingest", h.token("acme", RoleOperator), `{"source":"a","text":"b"}`)
	if r.status != http.StatusNotFound || !strings.Contains(string(r.body), `workflow type \"ingest\"`) {
		t.Errorf("got %d %s, want 404 naming the ingest type", r.status, r.body)
	}
}
