// Package ingest plugs the ingest module (documents into scored knowledge
// records, SNOs, with critics, a trust score, quarantine and poisoning
// defences) into the registry. It wires the activities to their
// dependencies and holds no workflow or I/O logic of its own; the SNO
// model, extraction, embeddings, critics and admission rules live in its
// subpackages.
package ingest

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	acts "contextworker/activities/ingest"
	"contextworker/internal/searchattr"
	"contextworker/registry"
	wf "contextworker/workflows/ingest"
)

func init() { registry.MustRegister(Module{}) }

// Module is the ingest module.
type Module struct{}

var _ registry.Module = Module{}

// Name implements registry.Module.
func (Module) Name() string { return "ingest" }

// TaskQueue implements registry.Module.
func (Module) TaskQueue() string { return wf.TaskQueue }

var (
	// Through the starter, a decision's operator is the caller's JWT
	// subject, whatever the payload says.
	stampOperator   = func(p any, subject string) { p.(*wf.Decision).Operator = subject }
	decisionSignals = []registry.Signal{
		{Name: wf.SignalRelease, Description: "admit a quarantined SNO (payload: operator, note; sno_id for a batch)",
			Payload: func() any { return &wf.Decision{} }, Stamp: stampOperator},
		{Name: wf.SignalDelete, Description: "delete a quarantined SNO (payload: operator, note; sno_id for a batch)",
			Payload: func() any { return &wf.Decision{} }, Stamp: stampOperator},
	}
	progressQuery = []registry.Query{{Name: wf.QueryProgress, Description: "documents done, admitted and quarantined", Result: func() any { return &wf.Progress{} }}}
)

// Workflows implements registry.Module.
func (Module) Workflows() []registry.Workflow {
	return []registry.Workflow{{
		Name:        wf.WorkflowName,
		Description: "turn one document into a scored SNO, admitted or quarantined",
		Input:       func() any { return &wf.Input{} },
		ID:          func(in any) string { return wf.WorkflowID(in.(*wf.Input)) },
		Tenant:      func(in any) string { return in.(*wf.Input).TenantID },
		SearchAttributes: func(in any) map[string]string {
			return map[string]string{searchattr.Source.GetName(): in.(*wf.Input).Source}
		},
		Signals:       decisionSignals,
		Queries:       progressQuery,
		ProgressQuery: wf.QueryProgress,
	}, {
		Name:        wf.BatchWorkflowName,
		Description: "ingest a directory, URL list or JSONL file of documents in chunks",
		Input:       func() any { return &wf.BatchInput{} },
		ID:          func(in any) string { return wf.BatchWorkflowID(in.(*wf.BatchInput)) },
		Tenant:      func(in any) string { return in.(*wf.BatchInput).TenantID },
		Check: func(cfg, in any) error {
			c, ok := cfg.(*acts.Config)
			if !ok || c == nil {
				c = acts.DefaultConfig()
			}
			b := in.(*wf.BatchInput)
			if b.State != nil {
				return errors.New("state: internal to continue-as-new; leave it out of the input")
			}
			if (b.Dir != "" || b.JSONL != "") && c.FileRoot == "" {
				return errors.New("dir: dir and jsonl need modules.ingest.file_root to be set")
			}
			return nil
		},
		SearchAttributes: func(in any) map[string]string {
			return map[string]string{searchattr.Source.GetName(): in.(*wf.BatchInput).Source}
		},
		Signals:       decisionSignals,
		Queries:       progressQuery,
		ProgressQuery: wf.QueryProgress,
	}, {
		Name:        wf.ReviewWorkflowName,
		Description: "release or delete a quarantined SNO at any time, recorded with who decided",
		Input:       func() any { return &wf.ReviewInput{} },
		ID:          func(in any) string { return wf.ReviewWorkflowID(in.(*wf.ReviewInput)) },
		Tenant:      func(in any) string { return in.(*wf.ReviewInput).TenantID },
		// The decision is recorded with who took it, never with a name
		// the client chose.
		Stamp: func(in any, subject string) { in.(*wf.ReviewInput).Operator = subject },
		Check: func(_, in any) error { return in.(*wf.ReviewInput).RequireOperator() },
	}}
}

// activities is the module's one table of activity types: Activities lists
// its names, Register registers its methods under them.
var activities = []registry.Activity[*acts.Activities]{
	{Name: wf.ActivityDocument, Method: func(a *acts.Activities) any { return a.Document }},
	{Name: wf.ActivityDecide, Method: func(a *acts.Activities) any { return a.Decide }},
	{Name: wf.ActivityBatchBegin, Method: func(a *acts.Activities) any { return a.BatchBegin }},
	{Name: wf.ActivityChunk, Method: func(a *acts.Activities) any { return a.Chunk }},
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
	a, err := acts.New(deps.DB, cfg, deps.Logger, deps.Temporal)
	if err != nil {
		return err
	}
	if deps.DataConverter != nil {
		// The document is read back from the start event, which an
		// encrypting client wrote: decode it with the same converter.
		a.Converter = deps.DataConverter
	}
	if a.Metrics, err = acts.NewMetrics(deps.Metrics); err != nil {
		return fmt.Errorf("ingest: metrics: %w", err)
	}
	r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	r.RegisterWorkflowWithOptions(wf.BatchWorkflow, workflow.RegisterOptions{Name: wf.BatchWorkflowName})
	r.RegisterWorkflowWithOptions(wf.ReviewWorkflow, workflow.RegisterOptions{Name: wf.ReviewWorkflowName})
	registry.RegisterActivities(r, a, activities)
	return nil
}
