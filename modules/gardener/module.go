// Package gardener plugs the gardener module (resumable batch enrichment of
// the harvested catalogue) into the registry. It wires the activities to
// their dependencies and holds no workflow or I/O logic of its own.
package gardener

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	acts "contextworker/activities/gardener"
	"contextworker/modules/gardener/enrich"
	"contextworker/registry"
	wf "contextworker/workflows/gardener"
)

func init() { registry.MustRegister(Module{}) }

// Module is the gardener module.
type Module struct{}

var _ registry.Module = Module{}

// Name implements registry.Module.
func (Module) Name() string { return "gardener" }

// TaskQueue implements registry.Module.
func (Module) TaskQueue() string { return wf.TaskQueue }

// Workflows implements registry.Module.
func (Module) Workflows() []registry.Workflow {
	return []registry.Workflow{{
		Name:        wf.WorkflowName,
		Description: "enrich a tenant's changed products (categories, brands, attributes, groups, quality flags)",
		Input:       func() any { return &wf.Input{} },
		ID:          func(in any) string { return wf.WorkflowID(in.(*wf.Input).TenantID) },
		Tenant:      func(in any) string { return in.(*wf.Input).TenantID },
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
		return errors.New("gardener: missing module config")
	}
	if deps.DB == nil {
		return errors.New("gardener: needs PostgreSQL")
	}
	a, err := acts.New(deps.DB, cfg, deps.Logger, enrich.Deps{
		Logger: deps.Logger,
		HTTP:   &http.Client{Timeout: 5 * time.Minute}, // enrichers set tighter per-request deadlines
		Cache:  acts.NewCache(deps.DB),
	})
	if err != nil {
		return err
	}
	a.UIURL, a.Namespace = deps.UIBaseURL, deps.Namespace
	r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	r.RegisterActivityWithOptions(a.Begin, activity.RegisterOptions{Name: wf.ActivityBegin})
	r.RegisterActivityWithOptions(a.Enrich, activity.RegisterOptions{Name: wf.ActivityEnrich})
	r.RegisterActivityWithOptions(a.Finalize, activity.RegisterOptions{Name: wf.ActivityFinalize})
	r.RegisterActivityWithOptions(a.Finish, activity.RegisterOptions{Name: wf.ActivityFinish})
	return nil
}
