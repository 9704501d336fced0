package starter

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// These tests need no Temporal: every answer is decided before Temporal is
// asked, or Temporal is deliberately unreachable.

func TestStartRefusesBadRequests(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	op := h.token("acme", RoleOperator)
	big := `{"type":"sleepy","input":{"note":"` + strings.Repeat("x", 2<<20) + `"}}`
	tests := []struct {
		name   string
		body   any
		header http.Header
		status int
		code   string
		want   string // in the message
	}{
		{"empty body", "", nil, 400, codeInvalidInput, "body: empty"},
		{"not JSON", "{", nil, 400, codeInvalidInput, "invalid JSON"},
		{"array", `[]`, nil, 400, codeInvalidInput, "wrong type"},
		{"trailing data", `{"type":"sleepy","input":{"note":"n"}} {}`, nil, 400, codeInvalidInput, "unexpected data after"},
		{"unknown envelope field", `{"type":"sleepy","inputs":{}}`, nil, 400, codeInvalidInput, "inputs: unknown field"},
		{"repeated envelope field", `{"type":"sleepy","type":"quick"}`, nil, 400, codeInvalidInput, "type: repeated field"},
		{"missing type", `{"input":{}}`, nil, 400, codeInvalidInput, "type: required"},
		{"unknown type", `{"type":"nope"}`, nil, 400, codeInvalidInput, `unknown workflow type "nope" (known: keyed, quick, sleepy)`},
		{"unknown input field", `{"type":"sleepy","input":{"note":"n","colour":1}}`, nil, 400, codeInvalidInput, "input.colour: unknown field"},
		{"field in other case", `{"type":"sleepy","input":{"Note":"n"}}`, nil, 400, codeInvalidInput, "input.Note: unknown field"},
		{"repeated tenant", `{"type":"sleepy","input":{"note":"n","tenant_id":"acme","tenant_id":"globex"}}`, nil, 400, codeInvalidInput, "input.tenant_id: repeated field"},
		{"wrong type", `{"type":"sleepy","input":{"note":5}}`, nil, 400, codeInvalidInput, "input.note: wrong type: got number, want string"},
		{"fraction for integer", `{"type":"sleepy","input":{"note":"n","count":1.5}}`, nil, 400, codeInvalidInput, "input.count: wrong type"},
		{"missing required field", `{"type":"sleepy","input":{}}`, nil, 400, codeInvalidInput, "input.note: required"},
		{"invalid field", `{"type":"sleepy","input":{"note":"n","count":-1}}`, nil, 400, codeInvalidInput, "input.count: must be >= 0"},
		{"invalid UTF-8", "{\"type\":\"sleepy\",\"input\":{\"note\":\"caf\xe9\"}}", nil, 400, codeInvalidInput, "input.note: not valid UTF-8"},
		{"lone surrogate", `{"type":"sleepy","input":{"note":"\udfff"}}`, nil, 400, codeInvalidInput, "input.note: not valid UTF-8"},
		{"too deep", `{"type":"sleepy","input":{"note":"n","x":` + strings.Repeat("[", 100) + `}}`, nil, 400, codeInvalidInput, "nested deeper than 64 levels"},
		{"input of another tenant", `{"type":"sleepy","input":{"note":"n","tenant_id":"globex"}}`, nil, 403, codeForbidden, "does not match your token"},
		{"client id with a slash", `{"type":"sleepy","input":{"note":"n"},"id":"a/b"}`, nil, 400, codeInvalidInput, "id: must match"},
		{"client id for a keyed type", `{"type":"keyed","input":{"supplier_code":"s1"},"id":"x"}`, nil, 400, codeInvalidInput, "takes its id from the input"},
		{"bad idempotency key", `{"type":"quick"}`, http.Header{"Idempotency-Key": {"has space"}}, 400, codeBadRequest, "Idempotency-Key"},
		{"two idempotency keys", `{"type":"quick"}`, http.Header{"Idempotency-Key": {"a", "b"}}, 400, codeBadRequest, "more than one"},
		{"wrong content type", `{"type":"quick"}`, http.Header{"Content-Type": {"text/plain"}}, 415, codeUnsupportedMedia, "application/json"},
		{"body too large", big, nil, 413, codePayloadTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.send(req{method: http.MethodPost, path: "/v1/workflows", token: op, body: tt.body, header: tt.header})
			if r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.status)
			}
			if code := r.errorCode(t); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
			var env errorBody
			r.decode(t, &env)
			if !strings.Contains(env.Error.Message, tt.want) {
				t.Errorf("message %q does not mention %q", env.Error.Message, tt.want)
			}
		})
	}
}

func TestInvalidInputNamesEveryField(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	r := h.post("/v1/workflows", h.token("acme", RoleOperator), `{"type":"sleepy","input":{"count":-2}}`)
	var body struct {
		Error struct {
			Details struct {
				Fields []fieldProblem `json:"fields"`
			} `json:"details"`
		} `json:"error"`
	}
	r.decode(t, &body)
	got := body.Error.Details.Fields
	if len(got) != 2 || got[0].Field != "input.note" || got[1].Field != "input.count" {
		t.Fatalf("fields %+v, want input.note and input.count", got)
	}
}

func TestTemporalUnavailableAnswers503(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil) // Temporal at 127.0.0.1:1: connection refused
	tok := h.token("acme", RoleOperator)
	for _, rq := range []req{
		{method: http.MethodPost, path: "/v1/workflows", token: tok, body: `{"type":"quick"}`},
		{method: http.MethodGet, path: "/v1/workflows", token: tok},
		{method: http.MethodGet, path: wfPath("sleepy/acme/x", ""), token: tok},
		{method: http.MethodGet, path: "/readyz"},
	} {
		r := h.send(rq)
		if r.status != http.StatusServiceUnavailable || r.errorCode(t) != codeTemporalUnavailable {
			t.Errorf("%s %s: got %d %s, want 503 temporal_unavailable", rq.method, rq.path, r.status, r.body)
		}
		if strings.Contains(string(r.body), "127.0.0.1:1") || strings.Contains(string(r.body), "dial") {
			t.Errorf("%s %s: answer leaks the connection error: %s", rq.method, rq.path, r.body)
		}
	}
}

func TestTemporalTimeoutAnswers504(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never speaks: every call hangs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	tc, err := client.NewLazyClient(client.Options{HostPort: ln.Addr().String(), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	h := newHarness(t, tc, func(o *Options) { o.Config.TemporalTimeout = 300 * time.Millisecond })
	began := time.Now()
	r := h.post("/v1/workflows", h.token("acme", RoleOperator), `{"type":"quick"}`)
	if r.status != http.StatusGatewayTimeout || r.errorCode(t) != codeTemporalTimeout {
		t.Fatalf("got %d %s, want 504 temporal_timeout", r.status, r.body)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("took %s: the Temporal timeout was not applied", took)
	}
}

// TestAuthFailuresLimitedPerAddress: an address that keeps sending bad
// tokens gets 429 for them until its bucket refills, while a valid token
// from the same address (a shared proxy or NAT) still gets through.
func TestAuthFailuresLimitedPerAddress(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, func(o *Options) { o.Config.AuthFailuresPerSecond, o.Config.AuthFailureBurst = 0.01, 3 })
	for i := range 3 {
		if r := h.post("/v1/workflows", "not-a-token", `{}`); r.status != http.StatusUnauthorized {
			t.Fatalf("bad token %d: got %d %s, want 401", i, r.status, r.body)
		}
	}
	r := h.post("/v1/workflows", "not-a-token", `{}`)
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != codeRateLimited {
		t.Fatalf("bad token after 3 failures: got %d %s, want 429", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	// The 400 proves the valid token was authenticated and the body read.
	if r := h.post("/v1/workflows", h.token("acme", RoleOperator), `{}`); r.status != http.StatusBadRequest {
		t.Fatalf("valid token from the same address: got %d %s, want 400", r.status, r.body)
	}
}

// TestAuthSuccessesDoNotCountAsFailures: good tokens never use up the
// address's failure budget.
func TestAuthSuccessesDoNotCountAsFailures(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, func(o *Options) { o.Config.AuthFailuresPerSecond, o.Config.AuthFailureBurst = 0.01, 1 })
	alice := h.token("acme", RoleOperator)
	for i := range 5 {
		if r := h.post("/v1/workflows", alice, `{}`); r.status != http.StatusBadRequest {
			t.Fatalf("request %d: got %d %s, want 400", i, r.status, r.body)
		}
	}
}

func TestRateLimitPerSubject(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, func(o *Options) { o.Config.RatePerSecond, o.Config.Burst = 0.01, 2 })
	alice := h.token("acme", RoleOperator)
	// Requests that fail validation still count: the limit is on requests.
	for i := range 2 {
		if r := h.post("/v1/workflows", alice, `{}`); r.status != http.StatusBadRequest {
			t.Fatalf("request %d: got %d %s, want 400", i, r.status, r.body)
		}
	}
	r := h.post("/v1/workflows", alice, `{}`)
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != codeRateLimited {
		t.Fatalf("got %d %s, want 429", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	// Another subject has its own bucket.
	c := claims("acme", RoleOperator)
	c["sub"] = "bob"
	bob := signHS(t, h, c)
	if r := h.post("/v1/workflows", bob, `{}`); r.status != http.StatusBadRequest {
		t.Errorf("bob: got %d %s, want 400", r.status, r.body)
	}
}

func TestUnmatchedRoutesAnswerEnvelope(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	r := h.get("/v2/nothing", "")
	if r.status != http.StatusNotFound || r.errorCode(t) != codeNotFound {
		t.Errorf("unknown path: got %d %s", r.status, r.body)
	}
	r = h.send(req{method: http.MethodDelete, path: "/v1/workflows"})
	if r.status != http.StatusMethodNotAllowed || r.errorCode(t) != codeMethodNotAllowed {
		t.Errorf("wrong method: got %d %s", r.status, r.body)
	}
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q, want GET and POST", allow)
	}
}

func TestViewerMayNotWrite(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	v := h.token("acme", RoleViewer)
	for _, path := range []string{"/v1/workflows", wfPath("sleepy/acme/x", "/cancel"), wfPath("sleepy/acme/x", "/signals/approve")} {
		r := h.post(path, v, `{}`)
		if r.status != http.StatusForbidden || r.errorCode(t) != codeForbidden {
			t.Errorf("POST %s as viewer: got %d %s, want 403", path, r.status, r.body)
		}
	}
}

func TestOtherTenantsIDsAnswer404WithoutTemporal(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil) // Temporal is unreachable: a 404 proves it was not asked
	tok := h.token("globex", RoleAdmin)
	for _, p := range []string{wfPath("sleepy/acme/x", ""), wfPath("no-tenant-segment", "")} {
		if r := h.get(p, tok); r.status != http.StatusNotFound {
			t.Errorf("GET %s: got %d %s, want 404", p, r.status, r.body)
		}
	}
	if r := h.post(wfPath("sleepy/acme/x", "/cancel"), tok, nil); r.status != http.StatusNotFound {
		t.Errorf("cancel: got %d %s, want 404", r.status, r.body)
	}
}

func TestListRefusesBadParameters(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	tok := h.token("acme", RoleViewer)
	for _, q := range []string{"status=sleeping", "type=nope", "page_size=0", "page_size=5000", "page_token=***", "tenant=globex"} {
		r := h.get("/v1/workflows?"+q, tok)
		if r.status != http.StatusBadRequest || r.errorCode(t) != codeInvalidInput {
			t.Errorf("?%s: got %d %s, want 400", q, r.status, r.body)
		}
	}
}

func TestPublicRoutes(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	if r := h.get("/healthz", ""); r.status != http.StatusOK {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	h.get("/v1/workflows", "") // a 401, to be counted
	r := h.get("/metrics", "")
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{
		`starter_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`starter_http_requests_total{code="401",method="GET",route="GET /v1/workflows"} 1`,
		`starter_auth_failures_total{code="401"} 1`,
		`starter_http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s:\n%s", want, r.body)
		}
	}
	if r := h.get("/openapi.json", ""); r.status != http.StatusOK || !strings.Contains(string(r.body), `"openapi": "3.0.3"`) {
		t.Errorf("openapi.json: %d", r.status)
	}
}

func TestErrorsCarryRequestID(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	r := h.get("/readyz", "") // 503: Temporal is unreachable
	id := r.header.Get("X-Request-Id")
	if id == "" || !strings.Contains(string(r.body), id) {
		t.Errorf("X-Request-Id %q not in the 5xx answer %s", id, r.body)
	}
}
