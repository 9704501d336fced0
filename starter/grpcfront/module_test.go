package grpcfront_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"contextworker/registry"
)

// The test module: one workflow type, echo, and a schedule.
const (
	testQueue = "grpcfront-test"
	typeEcho  = "echo"
)

// echoInput has a tenant field, filled from the token when left out.
type echoInput struct {
	TenantID string `json:"tenant_id"`
	Note     string `json:"note"`
}

func (in *echoInput) Validate() error {
	if in.Note == "" {
		return errors.New("note: required")
	}
	return nil
}

// echoResult is what echo returns.
type echoResult struct {
	Note   string `json:"note"`
	Tenant string `json:"tenant"`
}

func echoWorkflow(_ workflow.Context, in echoInput) (echoResult, error) {
	return echoResult{Note: in.Note, Tenant: in.TenantID}, nil
}

// moduleConfig names the schedule the module's Sync keeps.
type moduleConfig struct {
	ScheduleID string
}

// testModule declares echo as a real module would, and keeps one paused
// schedule of it in sync.
type testModule struct{}

var (
	_ registry.Module = testModule{}
	_ registry.Syncer = testModule{}
)

func (testModule) Name() string      { return "grpcfronttest" }
func (testModule) TaskQueue() string { return testQueue }
func (testModule) Workflows() []registry.Workflow {
	return []registry.Workflow{{
		Name:        typeEcho,
		Description: "returns its note",
		Input:       func() any { return &echoInput{} },
		Tenant:      func(in any) string { return in.(*echoInput).TenantID },
	}}
}
func (testModule) Activities() []string  { return nil }
func (testModule) Needs() registry.Needs { return registry.Needs{} }
func (testModule) NewConfig() any        { return &moduleConfig{} }
func (testModule) Register(_ context.Context, _ registry.Deps, r worker.Registry) error {
	r.RegisterWorkflowWithOptions(echoWorkflow, workflow.RegisterOptions{Name: typeEcho})
	return nil
}

// Sync creates the configured schedule, paused, unless it exists.
func (testModule) Sync(ctx context.Context, deps registry.Deps) error {
	cfg, ok := deps.Config.(*moduleConfig)
	if !ok || cfg.ScheduleID == "" {
		return fmt.Errorf("grpcfronttest: config %T has no schedule id", deps.Config)
	}
	_, err := deps.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     cfg.ScheduleID,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Paused: true,
		Action: &client.ScheduleWorkflowAction{
			ID:        cfg.ScheduleID + "-run",
			Workflow:  typeEcho,
			Args:      []any{echoInput{TenantID: "sched", Note: "scheduled"}},
			TaskQueue: testQueue,
		},
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	return err
}
