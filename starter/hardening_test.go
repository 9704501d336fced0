package starter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	failurepb "go.temporal.io/api/failure/v1"

	_ "contextworker/modules/all" // the real modules, for their checks
	"contextworker/registry"
)

// TestHostileBodiesCostBoundedMemory sends deeply nested bodies straight to
// the handler and measures what serving them allocates. A 20 KB body of
// "[" once cost 152 MiB and 1 MiB took the process down; the cost must stay
// linear in the body. Not parallel: the allocation count is process-wide.
func TestHostileBodiesCostBoundedMemory(t *testing.T) {
	h := unitHarness(t, nil)
	withIngest := unitHarness(t, func(o *Options) { o.Registry = notebookRegistry(t) })
	tok := h.token("acme", RoleOperator)
	const mib = 1 << 20
	tests := []struct {
		name string
		path string
		body []byte
	}{
		{"16 KiB of [", "/v1/workflows", bytes.Repeat([]byte("["), 16<<10)},
		{"1 MiB of [", "/v1/workflows", bytes.Repeat([]byte("["), mib)},
		{`1 MiB of {"a":`, "/v1/workflows", bytes.Repeat([]byte(`{"a":`), mib/5)},
		{"1 MiB of [ as input", "/v1/workflows", append([]byte(`{"type":"sleepy","input":`), bytes.Repeat([]byte("["), mib-64)...)},
		{`1 MiB of {"a": as a signal`, wfPath("sleepy/acme/x", "/signals/approve"), bytes.Repeat([]byte(`{"a":`), mib/5)},
		{"1 MiB of [ to ingest", "/v1/ingest", bytes.Repeat([]byte("["), mib)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := h.srv
			if tt.path == "/v1/ingest" {
				srv = withIngest.srv
			}
			r := httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(tt.body))
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			srv.Handler().ServeHTTP(w, r)
			runtime.ReadMemStats(&after)
			// Reading the body costs about twice its size (io.ReadAll
			// grows its buffer); the rest must be small.
			limit := 3*uint64(len(tt.body)) + mib
			t.Logf("serving %d bytes allocated %.2f MiB", len(tt.body), float64(after.TotalAlloc-before.TotalAlloc)/mib)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > limit {
				t.Errorf("serving %d bytes allocated %.1f MiB, want at most %.1f MiB", len(tt.body), float64(grew)/mib, float64(limit)/mib)
			}
			if w.Code != http.StatusBadRequest {
				t.Errorf("got %d %s, want 400", w.Code, w.Body.Bytes()[:min(200, w.Body.Len())])
			}
			if w.Body.Len() > 4<<10 {
				t.Errorf("answer is %d bytes: it must not grow with the body", w.Body.Len())
			}
		})
	}
}

func TestIDsAreCheckedAtTheEdge(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil) // Temporal is unreachable: a 400 proves it was not asked
	tok := h.token("acme", RoleOperator)
	for _, id := range []string{"sleepy/acme/%FF", "sleepy/acme/%C3%A9", "sleepy/acme/a%00b", "sleepy/acme/a%0Ab", "sleepy/acme/a%20b", "sleepy/acme/" + strings.Repeat("x", 1001)} {
		for _, rq := range []req{
			{method: http.MethodGet, path: "/v1/workflows/" + strings.ReplaceAll(id, "/", "%2F"), token: tok},
			{method: http.MethodPost, path: "/v1/workflows/" + strings.ReplaceAll(id, "/", "%2F") + "/cancel", token: tok},
			{method: http.MethodPost, path: "/v1/workflows/" + strings.ReplaceAll(id, "/", "%2F") + "/signals/approve", token: tok, body: `"x"`},
		} {
			r := h.send(rq)
			if r.status != http.StatusBadRequest || r.errorCode(t) != codeInvalidInput {
				t.Errorf("%s %s: got %d %s, want 400", rq.method, clip(rq.path), r.status, clip(string(r.body)))
			}
		}
	}
}

func TestForgedPageTokenAnswers400(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil) // Temporal is unreachable: a 400 proves it was not asked
	tok := h.token("acme", RoleViewer)
	sealed := h.srv.pages.seal("TenantId = 'acme'", []byte("temporal-token"))
	for _, pt := range []string{
		"Z2FyYmFnZQ", // "garbage", base64: Temporal would answer Unknown, retried until the deadline
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		sealed[:len(sealed)-2] + "xx", // altered
	} {
		r := h.get("/v1/workflows?page_token="+pt, tok)
		if r.status != http.StatusBadRequest || r.errorCode(t) != codeInvalidInput {
			t.Errorf("page_token %s: got %d %s, want 400", pt, r.status, r.body)
		}
	}
	// A token sealed for another query (another tenant, other filters).
	if r := h.get("/v1/workflows?status=running&page_token="+sealed, tok); r.status != http.StatusBadRequest {
		t.Errorf("token of another query: got %d %s, want 400", r.status, r.body)
	}
	if _, ok := h.srv.pages.open("TenantId = 'acme'", sealed); !ok {
		t.Error("a sealed token does not open for its own query")
	}
}

func TestMetricsLabelsStayBounded(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	for i := range 50 {
		h.send(req{method: fmt.Sprintf("ZZA%d", i), path: fmt.Sprintf("/nothing/%d", i)})
		h.send(req{method: fmt.Sprintf("ZZB%d", i), path: "/v1/workflows"})
	}
	body := string(h.get("/metrics", "").body)
	if strings.Contains(body, "ZZA") || strings.Contains(body, "ZZB") || strings.Contains(body, "/nothing") {
		t.Errorf("invented methods or paths became label values:\n%s", body)
	}
	var series int
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "starter_http_requests_total{") {
			series++
		}
	}
	if series > 3 {
		t.Errorf("%d request series after 100 invented requests, want at most 3:\n%s", series, body)
	}
}

func TestTokenLifetimeIsCapped(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, func(o *Options) { o.Config.JWT.MaxLifetime = 2 * time.Hour })
	now := time.Now()
	tests := []struct {
		name   string
		edit   func(jwt.MapClaims)
		status int
	}{
		{"control: 1h", func(jwt.MapClaims) {}, http.StatusOK},
		{"exactly the maximum", func(c jwt.MapClaims) { c["exp"] = now.Add(2 * time.Hour).Unix() }, http.StatusOK},
		{"a year", func(c jwt.MapClaims) { c["exp"] = now.Add(365 * 24 * time.Hour).Unix() }, http.StatusUnauthorized},
		{"iat backdated to stretch an old token", func(c jwt.MapClaims) { c["iat"] = now.Add(-3 * time.Hour).Unix() }, http.StatusUnauthorized},
		{"no iat", func(c jwt.MapClaims) { delete(c, "iat") }, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claims("acme", RoleViewer)
			tt.edit(c)
			// GET /v1/workflows?type=nope answers 400 once authenticated,
			// without asking Temporal.
			r := h.get("/v1/workflows?type=nope", signHS(t, h, c))
			want := tt.status
			if want == http.StatusOK {
				want = http.StatusBadRequest
			}
			if r.status != want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, want)
			}
		})
	}
}

func TestCheckRefusesRunsThatCanOnlyFail(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, func(o *Options) { o.Registry = registry.Default() }) // Temporal unreachable: 503 means it was asked
	op := h.token("acme", RoleOperator)
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"unknown supplier", `{"type":"harvest","input":{"supplier_code":"nobody"}}`, 400, "supplier_code"},
		{"ftp feed", `{"type":"harvest","input":{"supplier_code":"s1","feed_url":"ftp://example.com/feed.csv","format":"csv"}}`, 400, `"field":"input.feed_url"`},
		{"control: an https feed", `{"type":"harvest","input":{"supplier_code":"s1","feed_url":"https://example.com/feed.csv","format":"csv"}}`, 503, ""},
		{"control: a gardener", `{"type":"gardener","input":{}}`, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post("/v1/workflows", op, tt.body)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("got %d %s, want %d naming %q", r.status, r.body, tt.status, tt.want)
			}
		})
	}
}

func TestFailuresShowCodesNotMessages(t *testing.T) {
	t.Parallel()
	secret := "open /srv/feeds/acme/prices.csv: permission denied (modules.harvest.file_root)"
	f := &failurepb.Failure{
		Message:     "activity error",
		FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{}},
		Cause: &failurepb.Failure{
			Message:     secret,
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "BadConfig"}},
			Cause: &failurepb.Failure{
				Message:     secret,
				FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: strings.Repeat("x", 100)}},
			},
		},
	}
	got := failureOf(f, 0)
	data, _ := json.Marshal(got)
	if strings.Contains(string(data), "/srv/feeds") || strings.Contains(string(data), "file_root") || strings.Contains(string(data), "xxxxx") {
		t.Errorf("failure shown to the tenant leaks operator detail: %s", data)
	}
	if got.Type != "ActivityFailed" || got.Cause == nil || got.Cause.Type != "BadConfig" || got.Cause.Cause.Type != "ApplicationError" {
		t.Errorf("failure codes %s, want ActivityFailed > BadConfig > ApplicationError", data)
	}
}
