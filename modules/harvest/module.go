// Package harvest plugs the harvest module (supplier-feed imports) into the
// registry. It wires the activities to their dependencies and keeps the
// Temporal Schedules of configured suppliers in line with the config. It
// holds no workflow or I/O logic of its own.
package harvest

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	acts "contextworker/activities/harvest"
	"contextworker/internal/searchattr"
	"contextworker/registry"
	wf "contextworker/workflows/harvest"
)

func init() { registry.MustRegister(Module{}) }

// Module is the harvest module.
type Module struct{}

var (
	_ registry.Module = Module{}
	_ registry.Syncer = Module{}
)

// Name implements registry.Module.
func (Module) Name() string { return "harvest" }

// TaskQueue implements registry.Module.
func (Module) TaskQueue() string { return wf.TaskQueue }

// Workflows implements registry.Module.
func (Module) Workflows() []registry.Workflow {
	return []registry.Workflow{{
		Name:        wf.WorkflowName,
		Description: "import a supplier's product feed into the catalogue",
		Input:       func() any { return &wf.Input{} },
		ID: func(in any) string {
			i := in.(*wf.Input)
			return wf.WorkflowID(i.TenantID, i.SupplierCode)
		},
		Tenant: func(in any) string { return in.(*wf.Input).TenantID },
		Check: func(cfg, in any) error {
			c, ok := cfg.(*acts.Config)
			if !ok || c == nil {
				c = acts.DefaultConfig()
			}
			_, err := c.Resolve(*in.(*wf.Input))
			return err
		},
		SearchAttributes: func(in any) map[string]string {
			return map[string]string{searchattr.Supplier.GetName(): in.(*wf.Input).SupplierCode}
		},
		Signals: []registry.Signal{
			{Name: wf.SignalApprove, Description: "let a run that would deactivate more than the allowed share go on"},
			{Name: wf.SignalReject, Description: "end such a run without deactivating anything"},
		},
		Queries:       []registry.Query{{Name: wf.QueryProgress, Description: "phase and counts of the run", Result: func() any { return &wf.Progress{} }}},
		ProgressQuery: wf.QueryProgress,
	}}
}

// activities is the module's one table of activity types: Activities lists
// its names, Register registers its methods under them.
var activities = []registry.Activity[*acts.Activities]{
	{Name: wf.ActivityBegin, Method: func(a *acts.Activities) any { return a.Begin }},
	{Name: wf.ActivityStage, Method: func(a *acts.Activities) any { return a.Stage }},
	{Name: wf.ActivityMerge, Method: func(a *acts.Activities) any { return a.Merge }},
	{Name: wf.ActivityDeactivate, Method: func(a *acts.Activities) any { return a.Deactivate }},
	{Name: wf.ActivityFinish, Method: func(a *acts.Activities) any { return a.Finish }},
	{Name: wf.ActivityNotifyGardener, Method: func(a *acts.Activities) any { return a.NotifyGardener }},
}

// Activities implements registry.Module.
func (Module) Activities() []string {
	return registry.ActivityNames(activities)
}

// Needs implements registry.Module.
func (Module) Needs() registry.Needs { return registry.Needs{Postgres: true} }

// NewConfig implements registry.Module.
func (Module) NewConfig() any { return acts.DefaultConfig() }

// Register implements registry.Module.
func (m Module) Register(_ context.Context, deps registry.Deps, r worker.Registry) error {
	cfg, err := registry.Provisioned[acts.Config](m, deps)
	if err != nil {
		return err
	}
	a := acts.New(deps.DB, cfg, deps.Logger)
	a.UIURL, a.Namespace, a.Temporal = deps.UIBaseURL, deps.Namespace, deps.Temporal
	if a.Metrics, err = acts.NewMetrics(deps.Metrics); err != nil {
		return fmt.Errorf("harvest: metrics: %w", err)
	}
	r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	registry.RegisterActivities(r, a, activities)
	return nil
}

// Sync implements registry.Syncer: see syncSchedules.
func (m Module) Sync(ctx context.Context, deps registry.Deps) error {
	cfg, err := registry.ConfigOf[acts.Config](m, deps)
	if err != nil {
		return err
	}
	n, err := SyncSchedules(ctx, deps.Temporal, cfg)
	if err != nil {
		return fmt.Errorf("harvest: schedules: %w", err)
	}
	deps.Logger.Info("harvest schedules in sync", "created", n.Created, "updated", n.Updated, "deleted", n.Deleted)
	return nil
}
