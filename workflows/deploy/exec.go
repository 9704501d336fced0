package deploy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/durable"
	"contextworker/internal/ident"
)

// The ad-hoc command workflow (POST /v1/execute, admin only).
const (
	// ExecWorkflowName is the registered workflow type.
	ExecWorkflowName = "deploy-exec"
	// ActivityRun runs one ad-hoc command.
	ActivityRun = "deploy.Run"
)

// ExecInput is one ad-hoc command on a target, run in its current release
// under the target's policy and audited like any deploy command.
type ExecInput struct {
	TenantID string            `json:"tenant_id"`
	Target   string            `json:"target"`
	Argv     []string          `json:"argv"`
	Dir      string            `json:"dir,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	// Requester is the JWT subject the starter sets; recorded in the audit.
	Requester string `json:"requester,omitempty"`
}

// Validate checks the shape; the policy (in the activity, from config)
// decides what may run.
func (in *ExecInput) Validate() error {
	var errs []error
	if err := ident.Check("tenant_id", in.TenantID); err != nil {
		errs = append(errs, err)
	}
	if err := ident.Check("target", in.Target); err != nil {
		errs = append(errs, err)
	}
	if len(in.Argv) == 0 || len(in.Argv) > 4096 {
		errs = append(errs, errors.New("argv: a program and its arguments, as a list (never a shell string)"))
	}
	if len(in.Env) > 64 {
		errs = append(errs, errors.New("env: more than 64 variables"))
	}
	return errors.Join(errs...)
}

// ExecResult is how the command ended.
type ExecResult struct {
	Target   string        `json:"target"`
	Release  string        `json:"release"`
	Argv     []string      `json:"argv"`
	ExitCode int           `json:"exit_code"`
	Duration time.Duration `json:"duration"`
	Tail     string        `json:"tail"`
}

// ExecWorkflow runs one ad-hoc command as an audited workflow. A refused
// command fails it non-retryably, naming the rule.
func ExecWorkflow(ctx workflow.Context, in ExecInput) (*ExecResult, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), ErrInvalidInput, err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchTenant.ValueSet(in.TenantID), SearchModule.ValueSet(WorkflowName)); err != nil {
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("running `%s` on %s", strings.Join(in.Argv, " "), in.Target))
	// One attempt: an ad-hoc command is never run twice.
	actx := durable.ActivityContext(ctx, TaskQueue, "run "+in.Argv[0]+" on "+in.Target, time.Hour, time.Minute, 1)
	var res ExecResult
	if err := workflow.ExecuteActivity(actx, ActivityRun, in).Get(ctx, &res); err != nil {
		workflow.SetCurrentDetails(ctx, "**failed**: "+message(err))
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("`%s` exited %d", strings.Join(in.Argv, " "), res.ExitCode))
	return &res, nil
}
