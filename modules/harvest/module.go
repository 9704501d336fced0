// Package harvest plugs the harvest module (supplier-feed imports) into the
// registry. It wires the activities to their dependencies and keeps the
// Temporal Schedules of configured suppliers in line with the config. It
// holds no workflow or I/O logic of its own.
package harvest

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	acts "contextworker/activities/harvest"
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
	}}
}

// Activities implements registry.Module.
func (Module) Activities() []string { return wf.Activities }

// Needs implements registry.Module.
func (Module) Needs() registry.Needs { return registry.Needs{Postgres: true} }

// NewConfig implements registry.Module.
func (Module) NewConfig() any { return acts.DefaultConfig() }

// Register implements registry.Module.
func (Module) Register(_ context.Context, deps registry.Deps, r worker.Registry) error {
	cfg, ok := deps.Config.(*acts.Config)
	if !ok || cfg == nil {
		return errors.New("harvest: missing module config")
	}
	if deps.DB == nil {
		return errors.New("harvest: needs PostgreSQL")
	}
	a := acts.New(deps.DB, cfg, deps.Logger)
	a.UIURL, a.Namespace, a.Temporal = deps.UIBaseURL, deps.Namespace, deps.Temporal
	r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	for name, fn := range map[string]any{
		wf.ActivityBegin:          a.Begin,
		wf.ActivityStage:          a.Stage,
		wf.ActivityMerge:          a.Merge,
		wf.ActivityDeactivate:     a.Deactivate,
		wf.ActivityFinish:         a.Finish,
		wf.ActivityNotifyGardener: a.NotifyGardener,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	return nil
}

// Sync implements registry.Syncer: see syncSchedules.
func (Module) Sync(ctx context.Context, deps registry.Deps) error {
	cfg, ok := deps.Config.(*acts.Config)
	if !ok || cfg == nil {
		return errors.New("harvest: missing module config")
	}
	n, err := SyncSchedules(ctx, deps.Temporal, cfg)
	if err != nil {
		return fmt.Errorf("harvest: schedules: %w", err)
	}
	deps.Logger.Info("harvest schedules in sync", "created", n.Created, "updated", n.Updated, "deleted", n.Deleted)
	return nil
}
