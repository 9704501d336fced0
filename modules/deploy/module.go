// Package deploy plugs the deploy module (repositories onto target hosts
// under a command policy, with an audit trail and a rollback saga) into
// the registry. It wires the activities to their dependencies; its
// subpackages hold the domain: manifest (ai-module.yaml), policy, plan
// (tier-2 stacks), remote (local and SSH execution) and release. It holds
// no workflow or I/O logic of its own.
package deploy

import (
	"context"
	"fmt"
	"sync"

	"github.com/urfave/cli/v2"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	acts "contextworker/activities/deploy"
	"contextworker/registry"
	wf "contextworker/workflows/deploy"
)

func init() { registry.MustRegister(&Module{}) }

// Module is the deploy module. It keeps the activities it registered, to
// close their SSH connections at shutdown.
type Module struct {
	mu   sync.Mutex
	acts []*acts.Activities
}

var (
	_ registry.Module = (*Module)(nil)
	_ registry.Closer = (*Module)(nil)
)

// Name implements registry.Module.
func (*Module) Name() string { return "deploy" }

// TaskQueue implements registry.Module.
func (*Module) TaskQueue() string { return wf.TaskQueue }

// Workflows implements registry.Module.
func (*Module) Workflows() []registry.Workflow {
	return []registry.Workflow{{
		Name:        wf.WorkflowName,
		Description: "deploy a repository onto a target host under its command policy, with audit and rollback",
		Input:       func() any { return &wf.Input{} },
		ID: func(in any) string {
			i := in.(*wf.Input)
			return wf.WorkflowID(i.TenantID, i.Target, i.ModuleName())
		},
		Tenant:   func(in any) string { return in.(*wf.Input).TenantID },
		IDTenant: wf.IDTenant,
		Check: func(cfg, in any) error {
			c, ok := cfg.(*acts.Config)
			if !ok || c == nil {
				c = acts.DefaultConfig()
			}
			return c.Check(*in.(*wf.Input))
		},
		Signals: []registry.Signal{
			{Name: wf.SignalApprove, Description: "run a plan that waits for approval (targets with approve_plans)"},
			{Name: wf.SignalReject, Description: "end such a run before anything runs on the target"},
		},
		Queries:       []registry.Query{{Name: wf.QueryProgress, Description: "phase, plan and step outcomes", Result: func() any { return &wf.Progress{} }}},
		ProgressQuery: wf.QueryProgress,
		// The audit's requester is who asked, never what the client says.
		Stamp: func(in any, subject string) { in.(*wf.Input).Requester = subject },
	}, {
		Name:        wf.ExecWorkflowName,
		Description: "run one ad-hoc command in a target's current release under its policy, audited (admin only)",
		Input:       func() any { return &wf.ExecInput{} },
		// One run per request: the caller names it deploy-exec/<tenant>/<unique>.
		ID:     func(any) string { return "" },
		Tenant: func(in any) string { return in.(*wf.ExecInput).TenantID },
		// An ad-hoc command is an admin's act; the audit names who asked.
		StartRole: registry.RoleAdmin,
		Stamp:     func(in any, subject string) { in.(*wf.ExecInput).Requester = subject },
		// Only the target is checked up front: a command the policy refuses
		// must still run the workflow, so that the refusal is audited.
		Check: func(cfg, in any) error {
			c, ok := cfg.(*acts.Config)
			if !ok || c == nil {
				c = acts.DefaultConfig()
			}
			return c.CheckTarget(in.(*wf.ExecInput).TenantID, in.(*wf.ExecInput).Target)
		},
	}}
}

// activities is the module's one table of activity types: Activities lists
// its names, Register registers its methods under them.
var activities = []registry.Activity[*acts.Activities]{
	{Name: wf.ActivityCheckout, Method: func(a *acts.Activities) any { return a.Checkout }},
	{Name: wf.ActivityPlan, Method: func(a *acts.Activities) any { return a.Plan }},
	{Name: wf.ActivityValidate, Method: func(a *acts.Activities) any { return a.Validate }},
	{Name: wf.ActivityPrepare, Method: func(a *acts.Activities) any { return a.Prepare }},
	{Name: wf.ActivityExec, Method: func(a *acts.Activities) any { return a.Exec }},
	{Name: wf.ActivitySwitch, Method: func(a *acts.Activities) any { return a.Switch }},
	{Name: wf.ActivityStart, Method: func(a *acts.Activities) any { return a.Start }},
	{Name: wf.ActivityHealth, Method: func(a *acts.Activities) any { return a.Health }},
	{Name: wf.ActivityPrune, Method: func(a *acts.Activities) any { return a.Prune }},
	{Name: wf.ActivityRollback, Method: func(a *acts.Activities) any { return a.Rollback }},
	{Name: wf.ActivityRun, Method: func(a *acts.Activities) any { return a.Run }},
}

// Activities implements registry.Module.
func (*Module) Activities() []string {
	return registry.ActivityNames(activities)
}

// Needs implements registry.Module: the audit lives in PostgreSQL.
func (*Module) Needs() registry.Needs { return registry.Needs{Postgres: true} }

// NewConfig implements registry.Module.
func (*Module) NewConfig() any { return acts.DefaultConfig() }

// Register implements registry.Module.
func (m *Module) Register(_ context.Context, deps registry.Deps, r worker.Registry) error {
	cfg, err := registry.Provisioned[acts.Config](m, deps)
	if err != nil {
		return err
	}
	a := acts.New(deps.DB, cfg, deps.Logger)
	if a.Metrics, err = acts.NewMetrics(deps.Metrics); err != nil {
		return fmt.Errorf("deploy: metrics: %w", err)
	}
	m.mu.Lock()
	m.acts = append(m.acts, a)
	m.mu.Unlock()
	r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	r.RegisterWorkflowWithOptions(wf.ExecWorkflow, workflow.RegisterOptions{Name: wf.ExecWorkflowName})
	registry.RegisterActivities(r, a, activities)
	return nil
}

// Close implements registry.Closer: it closes the targets' connections.
func (m *Module) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.acts {
		_ = a.Close()
	}
	m.acts = nil
	return nil
}

// Command implements the worker's module-command hook: `worker deploy
// validate <file>` checks ai-module.yaml files for CI pipelines.
func (*Module) Command() *cli.Command { return Command() }
