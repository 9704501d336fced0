package deploy

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/deploy/policy"
	wf "contextworker/workflows/deploy"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// gitRepo commits files into a new repository and returns its path.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repos", "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", "git init -q -b main && git add -A && git -c user.name=t -c user.email=t@example.com commit -q -m init")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
	return dir
}

// TestTier2PlanAndPolicy checks out a repository without ai-module.yaml,
// plans it with the rules planner (recording the unused task prompt), and
// validates it against a policy that does not allow release programs.
func TestTier2PlanAndPolicy(t *testing.T) {
	testenv.Integration(t)
	db := stacktest.DB(t, testenv.Postgres(t))
	repo := gitRepo(t, map[string]string{"requirements.txt": "", "app.py": "print(1)\n", "test_app.py": ""})
	p := policy.Default()
	p.AllowedPrograms = []string{"python3"}
	cfg := DefaultConfig()
	cfg.WorkspaceDir = t.TempDir()
	cfg.Repositories = []string{filepath.Dir(repo) + "/"}
	cfg.Targets = map[string]*Target{"prod": {Kind: "local", Dir: t.TempDir(), Policy: &p}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := New(db, cfg, nil)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	in := wf.Input{TenantID: "acme", Repository: repo, Ref: "main", Target: "prod", TaskPrompt: "deploy with gunicorn", Requester: "alice"}
	val, err := env.ExecuteActivity(a.Checkout, in)
	if err != nil {
		t.Fatal(err)
	}
	var src wf.Source
	if err := val.Get(&src); err != nil || src.Tier != wf.Tier2 || src.Stack != "python" || len(src.Commit) != 40 {
		t.Fatalf("source %+v %v", src, err)
	}
	val, err = env.ExecuteActivity(a.Plan, wf.PlanRequest{Input: in, Source: src, StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var plan wf.Plan
	if err := val.Get(&plan); err != nil {
		t.Fatal(err)
	}
	if plan.WorkflowID != "deploy/acme/prod/shop" || plan.Version != "0.0.0+"+src.Commit[:12] ||
		plan.Release != plan.Version+"-20260102T030405Z" || plan.Endpoint != "http://127.0.0.1:8000/health" {
		t.Errorf("plan: %+v", plan)
	}
	if plan.Prompt == nil || plan.Prompt.Used || plan.Prompt.Text != in.TaskPrompt || !strings.Contains(plan.Prompt.Note, "not used") {
		t.Errorf("prompt: %+v", plan.Prompt)
	}
	_, err = env.ExecuteActivity(a.Validate, plan)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != wf.ErrPolicyRefused || !strings.Contains(err.Error(), "rule program.path") {
		t.Fatalf("validate: %v, want the release programs refused", err)
	}
	var refused int
	if err := db.QueryRow(t.Context(), `SELECT count(*) FROM deploy_audit WHERE phase = 'refused' AND refused_rule = 'program.path' AND requester = 'alice'`).Scan(&refused); err != nil || refused < 2 {
		t.Errorf("refusals audited: %d %v", refused, err)
	}

	// The same plan passes once the target allows release programs.
	p.AllowReleasePrograms = true
	if _, err := env.ExecuteActivity(a.Validate, plan); err != nil {
		t.Errorf("validate with release programs allowed: %v", err)
	}
}

func TestCheckoutRefuses(t *testing.T) {
	testenv.Integration(t)
	db := stacktest.DB(t, testenv.Postgres(t))
	repo := gitRepo(t, map[string]string{"ai-module.yaml": "name: Bad\nversion: x\n", "README": "hi"})
	cfg := DefaultConfig()
	cfg.WorkspaceDir = t.TempDir()
	cfg.Repositories = []string{filepath.Dir(repo) + "/"}
	p := policy.Default()
	cfg.Targets = map[string]*Target{"prod": {Kind: "local", Dir: t.TempDir(), Policy: &p}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := New(db, cfg, nil)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	tests := []struct {
		name, repo, ref, typ string
		want                 []string
	}{
		{"bad manifest, every error", repo, "main", wf.ErrBadManifest, []string{"ai-module.yaml:1: name:", "ai-module.yaml:2: version:", "description: required", "start_command: required"}},
		{"unknown ref", repo, "nope", wf.ErrInvalidInput, []string{`ref "nope" is not a branch, tag or commit`}},
		{"repository not allowed", "/etc", "main", wf.ErrInvalidInput, []string{"not under modules.deploy.repositories"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(a.Checkout, wf.Input{TenantID: "acme", Repository: tt.repo, Ref: tt.ref, Target: "prod"})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != tt.typ || !app.NonRetryable() {
				t.Fatalf("err = %v, want non-retryable %s", err, tt.typ)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in %v", w, err)
				}
			}
		})
	}
}
