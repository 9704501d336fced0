// Package gardener plugs the gardener module (resumable batch enrichment of
// the harvested catalogue) into the registry. It wires the activities to
// their dependencies and holds no workflow or I/O logic of its own.
package gardener

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	acts "contextworker/activities/gardener"
	"contextworker/internal/ident"
	"contextworker/internal/searchattr"
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
		// One gardener per tenant: "gardener/<tenant>", no key.
		IDTenant: func(id string) (string, bool) {
			tenant, ok := strings.CutPrefix(id, wf.WorkflowID(""))
			return tenant, ok && ident.Valid(tenant)
		},
		SearchAttributes: func(in any) map[string]string {
			if s := in.(*wf.Input).SupplierCode; s != "" {
				return map[string]string{searchattr.Supplier.GetName(): s}
			}
			return nil
		},
		Signals: []registry.Signal{{
			Name:        wf.SignalProductsChanged,
			Description: "products changed after the pass began: run one more pass when it ends",
			Payload:     func() any { return &wf.ProductsChanged{} },
		}},
		Queries:       []registry.Query{{Name: wf.QueryProgress, Description: "phase, counts and cursor of the pass", Result: func() any { return &wf.Progress{} }}},
		ProgressQuery: wf.QueryProgress,
	}}
}

// activities is the module's one table of activity types: Activities lists
// its names, Register registers its methods under them.
var activities = []registry.Activity[*acts.Activities]{
	{Name: wf.ActivityBegin, Method: func(a *acts.Activities) any { return a.Begin }},
	{Name: wf.ActivityEnrich, Method: func(a *acts.Activities) any { return a.Enrich }},
	{Name: wf.ActivityFinalize, Method: func(a *acts.Activities) any { return a.Finalize }},
	{Name: wf.ActivityFinish, Method: func(a *acts.Activities) any { return a.Finish }},
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
	a, err := acts.New(deps.DB, cfg, deps.Logger, enrich.Deps{
		Logger: deps.Logger,
		HTTP:   &http.Client{Timeout: 5 * time.Minute}, // enrichers set tighter per-request deadlines
		Cache:  acts.NewCache(deps.DB),
	})
	if err != nil {
		return err
	}
	a.UIURL, a.Namespace = deps.UIBaseURL, deps.Namespace
	if a.Metrics, err = acts.NewMetrics(deps.Metrics); err != nil {
		return fmt.Errorf("gardener: metrics: %w", err)
	}
	r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	registry.RegisterActivities(r, a, activities)
	return nil
}
