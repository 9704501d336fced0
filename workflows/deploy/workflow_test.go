package deploy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"contextworker/modules/deploy/policy"
	"contextworker/workflows/deploy"
)

// fake stands in for the activities: each returns what the test set, and
// every call is recorded in order.
type fake struct {
	mu       sync.Mutex
	calls    []string
	plan     deploy.Plan
	execErr  map[int]error
	health   error
	previous string
	rollback []deploy.RollbackRequest
}

func (f *fake) call(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

func (f *fake) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(deploy.ActivityCheckout, func(context.Context, deploy.Input) (deploy.Source, error) {
		f.call("checkout")
		return deploy.Source{Commit: strings.Repeat("a", 40), Tier: deploy.Tier1}, nil
	})
	reg(deploy.ActivityPlan, func(_ context.Context, r deploy.PlanRequest) (deploy.Plan, error) {
		f.call("plan")
		p := f.plan
		p.Source = r.Source
		return p, nil
	})
	reg(deploy.ActivityValidate, func(context.Context, deploy.Plan) error { f.call("validate"); return nil })
	reg(deploy.ActivityPrepare, func(context.Context, deploy.Plan) (deploy.StepOutcome, error) {
		f.call("prepare")
		return deploy.StepOutcome{Step: "prepare", Status: deploy.StatusSucceeded}, nil
	})
	reg(deploy.ActivityExec, func(_ context.Context, r deploy.ExecRequest) (deploy.StepOutcome, error) {
		f.call("exec")
		if err := f.execErr[r.Index]; err != nil {
			return deploy.StepOutcome{}, err
		}
		return deploy.StepOutcome{Step: r.Plan.Commands[r.Index].Step, Status: deploy.StatusSucceeded}, nil
	})
	reg(deploy.ActivitySwitch, func(context.Context, deploy.Plan) (deploy.SwitchResult, error) {
		f.call("switch")
		return deploy.SwitchResult{Previous: f.previous}, nil
	})
	reg(deploy.ActivityStart, func(context.Context, deploy.Plan) (deploy.StepOutcome, error) {
		f.call("start")
		return deploy.StepOutcome{Step: "start", Status: deploy.StatusSucceeded}, nil
	})
	reg(deploy.ActivityHealth, func(context.Context, deploy.Plan) (deploy.StepOutcome, error) {
		f.call("health")
		if f.health != nil {
			return deploy.StepOutcome{}, f.health
		}
		return deploy.StepOutcome{Step: "health", Status: deploy.StatusSucceeded}, nil
	})
	reg(deploy.ActivityPrune, func(context.Context, deploy.RollbackRequest) ([]string, error) {
		f.call("prune")
		return []string{"old"}, nil
	})
	reg(deploy.ActivityRollback, func(_ context.Context, r deploy.RollbackRequest) (deploy.RollbackResult, error) {
		f.call("rollback")
		f.mu.Lock()
		f.rollback = append(f.rollback, r)
		f.mu.Unlock()
		return deploy.RollbackResult{RestoredRelease: r.Previous, Restarted: true, Healthy: true, Detail: "back"}, nil
	})
}

var input = deploy.Input{TenantID: "acme", Repository: "/srv/repos/shop.git", Ref: "main", Target: "prod", TaskPrompt: "deploy it"}

func newEnv(t *testing.T, f *fake, id string) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id, TaskQueue: deploy.TaskQueue})
	env.RegisterWorkflowWithOptions(deploy.Workflow, workflow.RegisterOptions{Name: deploy.WorkflowName})
	if f.plan.Release == "" {
		f.plan = deploy.Plan{WorkflowID: "deploy/acme/prod/shop", TenantID: "acme", Target: "prod", Module: "shop", Version: "1.0.0",
			Release: "1.0.0-20260101T000000Z", RollbackEnabled: true, Endpoint: "http://127.0.0.1:8000/health",
			Commands: []policy.Command{{Step: "build", Argv: []string{"make"}}, {Step: "test", Argv: []string{"make", "test"}}},
			Start:    policy.Command{Step: "start", Argv: []string{"./app"}}, CommandTimeout: time.Minute,
			Health: deploy.Health{Enabled: true, Retries: 3, Interval: time.Second, Timeout: time.Second},
			Prompt: &deploy.Prompt{Text: "deploy it", Note: "not used"}}
	}
	f.register(env)
	return env
}

const canonical = "deploy/acme/prod/shop"

func TestDeploySucceeds(t *testing.T) {
	f := &fake{previous: "0.9.0-20251231T000000Z"}
	env := newEnv(t, f, canonical)
	env.ExecuteWorkflow(deploy.WorkflowName, input)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var rep deploy.Report
	if err := env.GetWorkflowResult(&rep); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, " "); got != "checkout plan validate prepare exec exec switch start health prune" {
		t.Errorf("calls: %s", got)
	}
	if rep.Status != deploy.StatusSucceeded || rep.Previous != f.previous || rep.Endpoint != f.plan.Endpoint || rep.PromptNote != "not used" || rep.Plan == nil {
		t.Errorf("report: %+v", rep)
	}
	resp, err := env.QueryWorkflow(deploy.QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var p deploy.Progress
	if err := resp.Get(&p); err != nil || p.Phase != deploy.StatusSucceeded || len(p.Steps) != len(rep.Steps) {
		t.Errorf("progress: %+v %v", p, err)
	}
}

func TestDeployHealthFailureRollsBack(t *testing.T) {
	f := &fake{previous: "0.9.0-20251231T000000Z", health: temporal.NewNonRetryableApplicationError("no healthy answer", deploy.ErrHealthCheck, nil)}
	env := newEnv(t, f, canonical)
	env.ExecuteWorkflow(deploy.WorkflowName, input)
	err := env.GetWorkflowError()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != deploy.ErrHealthCheck {
		t.Fatalf("error: %v", err)
	}
	var rep deploy.Report
	if err := app.Details(&rep); err != nil || rep.Status != deploy.StatusRolledBack || rep.Rollback == nil || rep.Rollback.RestoredRelease != f.previous {
		t.Errorf("report %+v %v", rep, err)
	}
	if len(f.rollback) != 1 || !f.rollback[0].Switched || !f.rollback[0].Started || f.rollback[0].Previous != f.previous {
		t.Errorf("rollback requests: %+v", f.rollback)
	}
}

func TestDeployBuildFailureTouchesNothing(t *testing.T) {
	f := &fake{execErr: map[int]error{0: temporal.NewNonRetryableApplicationError("build: make exited 2", deploy.ErrCommandFailed, nil)}}
	env := newEnv(t, f, canonical)
	env.ExecuteWorkflow(deploy.WorkflowName, input)
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != deploy.ErrCommandFailed {
		t.Fatalf("error: %v", err)
	}
	if got := strings.Join(f.calls, " "); got != "checkout plan validate prepare exec" {
		t.Errorf("calls: %s (no switch, no rollback)", got)
	}
}

func TestDeployApproval(t *testing.T) {
	for _, tt := range []struct {
		name, signal string
		wantCalls    string
		wantErr      string
	}{
		{"approved", deploy.SignalApprove, "checkout plan validate prepare exec exec switch start health prune", ""},
		{"rejected", deploy.SignalReject, "checkout plan validate", deploy.ErrNotApproved},
		{"timed out", "", "checkout plan validate", deploy.ErrNotApproved},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			env := newEnv(t, f, canonical)
			f.plan.ApprovalTimeout = time.Hour
			if tt.signal != "" {
				env.RegisterDelayedCallback(func() {
					resp, err := env.QueryWorkflow(deploy.QueryProgress)
					var p deploy.Progress
					if err != nil || resp.Get(&p) != nil || !p.AwaitingApproval || p.Plan == nil {
						t.Errorf("progress while waiting: %+v %v", p, err)
					}
					env.SignalWorkflow(tt.signal, nil)
				}, time.Minute)
			}
			env.ExecuteWorkflow(deploy.WorkflowName, input)
			err := env.GetWorkflowError()
			var app *temporal.ApplicationError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (!errors.As(err, &app) || app.Type() != tt.wantErr):
				t.Fatalf("error %v, want %s", err, tt.wantErr)
			}
			if got := strings.Join(f.calls, " "); got != tt.wantCalls {
				t.Errorf("calls: %s, want %s", got, tt.wantCalls)
			}
		})
	}
}

func TestDeployDelegatesToCanonicalID(t *testing.T) {
	f := &fake{}
	env := newEnv(t, f, "deploy/acme/prod/shop/hook-123")
	env.ExecuteWorkflow(deploy.WorkflowName, input)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var rep deploy.Report
	if err := env.GetWorkflowResult(&rep); err != nil || rep.WorkflowID != canonical || rep.Status != deploy.StatusSucceeded {
		t.Errorf("report %+v %v", rep, err)
	}
}

func TestDeployInvalidInput(t *testing.T) {
	env := newEnv(t, &fake{}, canonical)
	env.ExecuteWorkflow(deploy.WorkflowName, deploy.Input{TenantID: "acme", Repository: "relative/path", Ref: "--upload-pack=x", Target: "prod"})
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != deploy.ErrInvalidInput ||
		!strings.Contains(err.Error(), "ref:") || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("error: %v", err)
	}
}

func TestInputValidate(t *testing.T) {
	tests := []struct {
		name string
		in   deploy.Input
		want string
	}{
		{"credentials in URL", deploy.Input{TenantID: "a", Repository: "https://u:tok@git.example/x.git", Ref: "main", Target: "t"}, "holds credentials"},
		{"remote helper", deploy.Input{TenantID: "a", Repository: "ext::sh -c id", Ref: "main", Target: "t"}, "repository"},
		{"option as repo", deploy.Input{TenantID: "a", Repository: "--upload-pack=id", Ref: "main", Target: "t"}, "must not start with '-'"},
		{"dotdot ref", deploy.Input{TenantID: "a", Repository: "/r/x", Ref: "a..b", Target: "t"}, "ref:"},
		{"bad target", deploy.Input{TenantID: "a", Repository: "/r/x", Ref: "main", Target: "../x"}, "target:"},
		{"huge prompt", deploy.Input{TenantID: "a", Repository: "/r/x", Ref: "main", Target: "t", TaskPrompt: strings.Repeat("p", deploy.MaxPromptBytes+1)}, "task_prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.in.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
	ok := deploy.Input{TenantID: "a", Repository: "git@github.com:acme/shop.git", Ref: "v1.2.3", Target: "t"}
	if err := ok.Validate(); err != nil || ok.ModuleName() != "shop" {
		t.Errorf("valid input: %v, module %q", err, ok.ModuleName())
	}
	if tenant, ok := deploy.IDTenant("deploy/acme/prod/shop"); !ok || tenant != "acme" {
		t.Errorf("IDTenant = %q %v", tenant, ok)
	}
	for _, bad := range []string{"deploy/acme/prod", "harvest/acme/prod/shop", "deploy/acme/prod/shop/x", "deploy//prod/shop"} {
		if _, ok := deploy.IDTenant(bad); ok {
			t.Errorf("IDTenant(%q) ok", bad)
		}
	}
}
