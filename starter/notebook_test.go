package starter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/internal/searchattr"
	"contextworker/registry"
)

// The notebook module is an ingest-like module that exists only in tests:
// it declares the workflow type "ingest" (so POST /v1/ingest reaches it),
// an id rule of its own, a config check, a search attribute, a signal with
// a payload, one without, and a progress query under another name than
// "progress". It proves a new module works through the starter with no
// starter code changed.
const (
	notebookQueue   = "starter-test-notebook"
	notebookRelease = "release"
	notebookHold    = "hold"
	notebookStatus  = "status" // its progress query
)

type noteInput struct {
	TenantID string `json:"tenant_id"`
	Source   string `json:"source"`
	Text     string `json:"text"`
}

func (in *noteInput) Validate() error {
	var errs []error
	if in.Source == "" {
		errs = append(errs, errors.New("source: required"))
	}
	if in.Text == "" {
		errs = append(errs, errors.New("text: required"))
	}
	return errors.Join(errs...)
}

// noteDecision is the payload of release. Signer is stamped by the
// starter with the caller's subject.
type noteDecision struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	Signer string `json:"signer,omitempty"`
}

func (d *noteDecision) Validate() error {
	if d.By == "" {
		return errors.New("by: required")
	}
	return nil
}

type noteProgress struct {
	Stage   string `json:"stage"`
	Holds   int    `json:"holds"`
	TextLen int    `json:"text_len"`
}

type noteResult struct {
	Source     string `json:"source"`
	ReleasedBy string `json:"released_by"`
	Reason     string `json:"reason"`
	SignedBy   string `json:"signed_by"`
	Holds      int    `json:"holds"`
}

// notebookConfig is the module's configuration: sources it refuses.
type notebookConfig struct {
	Blocked []string `yaml:"blocked"`
}

// noteID is the notebook's id rule: "note:<tenant>:<source>", not the
// platform convention.
func noteID(tenant, source string) string { return "note:" + tenant + ":" + source }

func noteIDTenant(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, "note:")
	if !ok {
		return "", false
	}
	tenant, source, ok := strings.Cut(rest, ":")
	return tenant, ok && tenant != "" && source != ""
}

func notebookWorkflow(ctx workflow.Context, in noteInput) (noteResult, error) {
	p := noteProgress{Stage: "waiting for release", TextLen: len(in.Text)}
	if err := workflow.SetQueryHandler(ctx, notebookStatus, func() (noteProgress, error) { return p, nil }); err != nil {
		return noteResult{}, err
	}
	release, hold := workflow.GetSignalChannel(ctx, notebookRelease), workflow.GetSignalChannel(ctx, notebookHold)
	for {
		var d noteDecision
		released := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(release, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &d); released = true })
		sel.AddReceive(hold, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); p.Holds++ })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return noteResult{}, err
		}
		if released {
			return noteResult{Source: in.Source, ReleasedBy: d.By, Reason: d.Reason, SignedBy: d.Signer, Holds: p.Holds}, nil
		}
	}
}

type notebookModule struct{}

var _ registry.Module = notebookModule{}

func (notebookModule) Name() string      { return "notebook" }
func (notebookModule) TaskQueue() string { return notebookQueue }
func (notebookModule) Workflows() []registry.Workflow {
	return []registry.Workflow{{
		Name:        ingestType,
		Description: "keeps a note until released",
		Input:       func() any { return &noteInput{} },
		ID:          func(in any) string { i := in.(*noteInput); return noteID(i.TenantID, i.Source) },
		Tenant:      func(in any) string { return in.(*noteInput).TenantID },
		IDTenant:    noteIDTenant,
		Check: func(cfg, in any) error {
			if c, ok := cfg.(*notebookConfig); ok && slices.Contains(c.Blocked, in.(*noteInput).Source) {
				return fmt.Errorf("source: %q is blocked (modules.notebook.blocked)", in.(*noteInput).Source)
			}
			return nil
		},
		SearchAttributes: func(in any) map[string]string {
			return map[string]string{searchattr.Supplier.GetName(): in.(*noteInput).Source}
		},
		Signals: []registry.Signal{
			{Name: notebookRelease, Description: "release the note", Payload: func() any { return &noteDecision{} },
				Stamp: func(p any, subject string) { p.(*noteDecision).Signer = subject }},
			{Name: notebookHold, Description: "count a hold"},
		},
		Queries:       []registry.Query{{Name: notebookStatus, Description: "stage and holds", Result: func() any { return &noteProgress{} }}},
		ProgressQuery: notebookStatus,
	}}
}
func (notebookModule) Activities() []string  { return nil }
func (notebookModule) Needs() registry.Needs { return registry.Needs{} }
func (notebookModule) NewConfig() any        { return &notebookConfig{} }
func (notebookModule) Register(_ context.Context, _ registry.Deps, r worker.Registry) error {
	r.RegisterWorkflowWithOptions(notebookWorkflow, workflow.RegisterOptions{Name: ingestType})
	return nil
}

// notebookRegistry holds only the notebook module.
func notebookRegistry(tb testing.TB) *registry.Registry {
	tb.Helper()
	reg := registry.New()
	if err := reg.Register(notebookModule{}); err != nil {
		tb.Fatal(err)
	}
	return reg
}

// startNotebookWorker runs the notebook module with dc until the test ends.
func startNotebookWorker(tb testing.TB, tc client.Client, dc converter.DataConverter) {
	tb.Helper()
	wc, err := client.NewClientFromExisting(tc, client.Options{DataConverter: dc, Logger: quietSDKLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(wc.Close)
	w := worker.New(wc, notebookQueue, worker.Options{})
	if err := (notebookModule{}).Register(tb.Context(), registry.Deps{}, w); err != nil {
		tb.Fatal(err)
	}
	if err := w.Start(); err != nil {
		tb.Fatalf("start notebook worker: %v", err)
	}
	tb.Cleanup(w.Stop)
}
