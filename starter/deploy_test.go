package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"contextworker/internal/config"
	"contextworker/modules/deploy"
	"contextworker/modules/deploy/hook"
	"contextworker/registry"
)

// hookSecret is the webhook secret of the test hooks (env:CW_TEST_HOOK).
const hookSecret = "s3cret-of-the-hook"

// testLookupEnv resolves the test hooks' secret ref.
func testLookupEnv(k string) (string, bool) {
	if k == "CW_TEST_HOOK" {
		return hookSecret, true
	}
	return "", false
}

// deployRegistry holds the deploy module only.
func deployRegistry(tb testing.TB) *registry.Registry {
	tb.Helper()
	reg := registry.New()
	if err := reg.Register(&deploy.Module{}); err != nil {
		tb.Fatal(err)
	}
	return reg
}

// deployYAML is a modules.deploy section with one local target under dir,
// repositories under repoPrefix and a hook deploying pushes of
// repoPrefix+"shop.git" to main for hookTenant.
func deployYAML(dir, repoPrefix, hookTenant string) string {
	return fmt.Sprintf(`modules:
  deploy:
    workspace_dir: %[1]s/ws
    repositories: [%[2]s]
    targets:
      local:
        kind: local
        dir: %[1]s/local
        policy: {allowed_programs: [python3]}
    hooks:
      - {name: shop-main, repository: %[2]sshop.git, secret: env:CW_TEST_HOOK, branch: main, tenant: %[3]s, target: local, module: shop}
`, dir, repoPrefix, hookTenant)
}

// moduleConfigOf parses yml (a temporal.yaml) for reg and returns its
// modules' decoded configuration, as the starter's CLI hands it over.
func moduleConfigOf(tb testing.TB, reg *registry.Registry, yml string) func(string) any {
	tb.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yml), reg)
	if err != nil {
		tb.Fatalf("parse test config: %v", err)
	}
	return cfg.Module
}

// pushBody is a push event of repo's branch at commit after.
func pushBody(tb testing.TB, repo, branch, after string) string {
	tb.Helper()
	var p hook.Push
	p.Ref, p.After = "refs/heads/"+branch, after
	p.Repository.CloneURL = repo
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// deployUnitHarness is a starter with the deploy module and no Temporal.
func deployUnitHarness(t *testing.T, edit func(*Options)) *harness {
	t.Helper()
	reg := deployRegistry(t)
	return unitHarness(t, func(o *Options) {
		o.Registry = reg
		o.ModuleConfig = moduleConfigOf(t, reg, deployYAML(t.TempDir(), "https://git.example/acme/", "acme"))
		o.LookupEnv = testLookupEnv
		if edit != nil {
			edit(o)
		}
	})
}

func TestDeployRoutesRefuse(t *testing.T) {
	t.Parallel()
	h := deployUnitHarness(t, nil)
	viewer, op, admin := h.token("acme", RoleViewer), h.token("acme", RoleOperator), h.token("acme", RoleAdmin)
	repo := "https://git.example/acme/shop.git"
	commit := strings.Repeat("ab", 20)
	signed := func(body string) http.Header {
		return http.Header{hook.SignatureHeader: {hook.Sign([]byte(hookSecret), []byte(body))}}
	}
	good := pushBody(t, repo, "main", commit)
	big := strings.Repeat(" ", hook.MaxBody+1)
	cases := []struct {
		name   string
		req    req
		status int
		code   string
	}{
		{"execute without token", req{method: http.MethodPost, path: "/v1/execute", body: map[string]any{"target": "local", "argv": []string{"id"}}}, 401, codeUnauthenticated},
		{"execute as operator", req{method: http.MethodPost, path: "/v1/execute", token: op, body: map[string]any{"target": "local", "argv": []string{"id"}}}, 403, codeForbidden},
		{"deploy-exec through /v1/workflows as operator", req{method: http.MethodPost, path: "/v1/workflows", token: op,
			body: map[string]any{"type": "deploy-exec", "input": map[string]any{"target": "local", "argv": []string{"id"}}}}, 403, codeForbidden},
		{"execute without argv", req{method: http.MethodPost, path: "/v1/execute", token: admin, body: map[string]any{"target": "local"}}, 400, codeInvalidInput},
		{"execute on an unknown target", req{method: http.MethodPost, path: "/v1/execute", token: admin, body: map[string]any{"target": "nope", "argv": []string{"id"}}}, 400, codeInvalidInput},
		{"execute for another tenant", req{method: http.MethodPost, path: "/v1/execute", token: admin, body: map[string]any{"tenant_id": "other", "target": "local", "argv": []string{"id"}}}, 403, codeForbidden},
		{"execute too large", req{method: http.MethodPost, path: "/v1/execute", token: admin, body: `{"target":"local","argv":["` + strings.Repeat("a", 2<<20) + `"]}`}, 413, codePayloadTooLarge},
		{"audit without token", req{method: http.MethodGet, path: "/v1/audit"}, 401, codeUnauthenticated},
		{"audit as viewer", req{method: http.MethodGet, path: "/v1/audit", token: viewer}, 403, codeForbidden},
		{"audit with a bad limit", req{method: http.MethodGet, path: "/v1/audit?limit=0", token: op}, 400, codeInvalidInput},
		{"audit with a huge limit", req{method: http.MethodGet, path: "/v1/audit?limit=1001", token: op}, 400, codeInvalidInput},
		{"audit with a bad after", req{method: http.MethodGet, path: "/v1/audit?after=-1", token: op}, 400, codeInvalidInput},
		{"audit with a long workflow id", req{method: http.MethodGet, path: "/v1/audit?workflow_id=" + strings.Repeat("w", 513), token: op}, 400, codeInvalidInput},
		{"audit without a database", req{method: http.MethodGet, path: "/v1/audit", token: op}, 503, codeDatabaseUnavailable},
		{"hook without signature", req{method: http.MethodPost, path: "/v1/hooks/git", body: good}, 401, codeUnauthenticated},
		{"hook with a bearer token but no signature", req{method: http.MethodPost, path: "/v1/hooks/git", token: admin, body: good}, 401, codeUnauthenticated},
		{"hook signed with another secret", req{method: http.MethodPost, path: "/v1/hooks/git", body: good,
			header: http.Header{hook.SignatureHeader: {hook.Sign([]byte("guess"), []byte(good))}}}, 401, codeUnauthenticated},
		{"hook signature of another body", req{method: http.MethodPost, path: "/v1/hooks/git", body: good,
			header: signed(pushBody(t, repo, "main", strings.Repeat("cd", 20)))}, 401, codeUnauthenticated},
		{"hook of an unknown repository", req{method: http.MethodPost, path: "/v1/hooks/git", body: pushBody(t, "https://git.example/evil.git", "main", commit),
			header: signed(pushBody(t, "https://git.example/evil.git", "main", commit))}, 401, codeUnauthenticated},
		{"hook body too large", req{method: http.MethodPost, path: "/v1/hooks/git", body: big, header: signed(big)}, 413, codePayloadTooLarge},
		{"hook body not JSON", req{method: http.MethodPost, path: "/v1/hooks/git", body: "not json", header: signed("not json")}, 400, codeBadRequest},
		{"hook push of no commit", req{method: http.MethodPost, path: "/v1/hooks/git", body: pushBody(t, repo, "main", "HEAD"),
			header: signed(pushBody(t, repo, "main", "HEAD"))}, 400, codeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(tc.req)
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
}

// TestHookIgnoresOtherBranches: a verified push to a branch the hook does
// not deploy is accepted with a note, and starts nothing (this starter's
// Temporal is unreachable: a start would answer 5xx).
func TestHookIgnoresOtherBranches(t *testing.T) {
	t.Parallel()
	h := deployUnitHarness(t, nil)
	body := pushBody(t, "https://git.example/acme/shop.git", "feature", strings.Repeat("ab", 20))
	r := h.send(req{method: http.MethodPost, path: "/v1/hooks/git", body: body,
		header: http.Header{hook.SignatureHeader: {hook.Sign([]byte(hookSecret), []byte(body))}}})
	var note hookIgnored
	r.decode(t, &note)
	if r.status != http.StatusAccepted || !strings.Contains(note.Note, "refs/heads/feature") {
		t.Errorf("got %d %s, want 202 with a note naming the ref", r.status, r.body)
	}
}

// TestHookRateLimitedPerAddress: beyond the burst, one address gets 429
// before its signature is even checked.
func TestHookRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	h := deployUnitHarness(t, func(o *Options) { o.Config.RatePerSecond, o.Config.Burst = 0.001, 2 })
	statuses := make([]int, 4)
	for i := range statuses {
		statuses[i] = h.send(req{method: http.MethodPost, path: "/v1/hooks/git", body: "{}"}).status
	}
	if want := []int{401, 401, 429, 429}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

// TestAuditDatabaseUnreachable: a database that does not answer is 503,
// and the next request tries again.
func TestAuditDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	calls := 0
	h := deployUnitHarness(t, func(o *Options) {
		o.Database = func(ctx context.Context) (*pgxpool.Pool, error) {
			calls++
			return nil, errors.New("postgres: could not reach 127.0.0.1:1/cw")
		}
	})
	op := h.token("acme", RoleOperator)
	for range 2 {
		if r := h.get("/v1/audit", op); r.status != http.StatusServiceUnavailable || r.errorCode(t) != codeDatabaseUnavailable {
			t.Errorf("got %d %s, want 503", r.status, r.body)
		}
	}
	if calls != 2 {
		t.Errorf("the database was opened %d times, want 2 (a failure is not kept)", calls)
	}
}
