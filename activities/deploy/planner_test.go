package deploy

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/deploy/plan"
	"contextworker/modules/deploy/policy"
	wf "contextworker/workflows/deploy"
)

// chatServer is a local OpenAI-compatible server answering every request
// with content; it counts requests.
func chatServer(t *testing.T, content string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 || !strings.Contains(req.Messages[1].Content, "app.py") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": content}}}})
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestLLMPlanner plans a tier-2 repository with the LLM planner: a good
// plan is used and passes the policy, a hostile one is refused by the
// same policy naming the rule, a malformed answer is refused with the
// reason and never used.
func TestLLMPlanner(t *testing.T) {
	testenv.Integration(t)
	db := stacktest.DB(t, testenv.Postgres(t))
	repo := gitRepo(t, map[string]string{"requirements.txt": "", "app.py": "print(1)\n"})
	tests := []struct {
		name     string
		answer   string
		planErr  string // the Plan activity fails non-retryably with this
		validErr string // Validate refuses naming this rule
	}{
		{name: "good plan", answer: `{"build":[["python3","-m","py_compile","app.py"]],"test":[],"start":["python3","app.py"]}`},
		{name: "hostile plan", answer: `{"build":[["sh","-c","id"]],"test":[],"start":["python3","app.py"]}`,
			validErr: "rule " + policy.RuleProgramNever},
		{name: "malformed json", answer: `Sure! Run "pip install" then python3 app.py`, planErr: "not a plan object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := chatServer(t, tt.answer)
			p := policy.Default()
			p.AllowedPrograms = []string{"python3"}
			cfg := DefaultConfig()
			cfg.WorkspaceDir = t.TempDir()
			cfg.Repositories = []string{filepath.Dir(repo) + "/"}
			cfg.Targets = map[string]*Target{"prod": {Kind: "local", Dir: t.TempDir(), Policy: &p}}
			cfg.Planner = &Planner{LLM: &LLMPlanner{Endpoint: srv.URL + "/v1/chat/completions", Model: "planner-model", Timeout: 10 * time.Second}}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			a := New(db, cfg, nil)
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			in := wf.Input{TenantID: "acme", Repository: repo, Ref: "main", Target: "prod", TaskPrompt: "run app.py with python3", Requester: "bob"}
			val, err := env.ExecuteActivity(a.Checkout, in)
			if err != nil {
				t.Fatal(err)
			}
			var src wf.Source
			if err := val.Get(&src); err != nil {
				t.Fatal(err)
			}
			val, err = env.ExecuteActivity(a.Plan, wf.PlanRequest{Input: in, Source: src, StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
			if requests.Load() != 1 {
				t.Errorf("chat requests = %d, want 1", requests.Load())
			}
			var app *temporal.ApplicationError
			if tt.planErr != "" {
				if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), plan.ErrRefusedAnswer.Error()) || !strings.Contains(err.Error(), tt.planErr) {
					t.Fatalf("plan: %v, want the answer refused with %q", err, tt.planErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got wf.Plan
			if err := val.Get(&got); err != nil {
				t.Fatal(err)
			}
			if got.Prompt == nil || !got.Prompt.Used || got.Prompt.Text != in.TaskPrompt || !strings.Contains(got.Prompt.Note, "llm planner") ||
				!strings.Contains(got.Prompt.Note, "planner-model") {
				t.Errorf("prompt: %+v", got.Prompt)
			}
			if got.Start.Argv[0] != "python3" || len(got.Commands) != 1 || got.Commands[0].Step != "build" {
				t.Errorf("plan commands %+v start %+v, want the model's", got.Commands, got.Start)
			}
			_, err = env.ExecuteActivity(a.Validate, got)
			if tt.validErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if !errors.As(err, &app) || app.Type() != wf.ErrPolicyRefused || !app.NonRetryable() || !strings.Contains(err.Error(), tt.validErr) {
				t.Fatalf("validate: %v, want refused with %q", err, tt.validErr)
			}
		})
	}
}

// TestPlannerConfig checks the planner section's validation.
func TestPlannerConfig(t *testing.T) {
	zero := 0
	tests := []struct {
		name string
		llm  *LLMPlanner
		want []string
	}{
		{name: "ok", llm: &LLMPlanner{Endpoint: "http://127.0.0.1:8000/v1/chat/completions", Model: "m", MaxRetries: &zero}},
		{name: "bad", llm: &LLMPlanner{Endpoint: "ftp://x", Timeout: -time.Second},
			want: []string{"planner.llm.endpoint:", "planner.llm.model:", "planner.llm.timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Planner = &Planner{LLM: tt.llm}
			err := cfg.Validate()
			if len(tt.want) == 0 && err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want %s", err, w)
				}
			}
		})
	}
}
