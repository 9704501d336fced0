package harvest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	acts "contextworker/activities/harvest"
	"contextworker/modules/harvest"
	wf "contextworker/workflows/harvest"
)

// TestSchedulesSync: schedules follow the config (create, update, delete),
// with overlap policy skip.
func TestSchedulesSync(t *testing.T) {
	s := newStack(t, "")
	ctx := context.Background()
	cfg := acts.DefaultConfig()
	sup := acts.Supplier{Code: "sched", Tenant: "acme", Schedule: "0 3 * * *",
		Feed: acts.Feed{URL: "http://127.0.0.1:1/feed.csv", Format: "csv"}}
	cfg.Suppliers = []acts.Supplier{sup}
	id := harvest.ScheduleID("acme", "sched")

	if res, err := harvest.SyncSchedules(ctx, s.tc, cfg); err != nil || res.Created != 1 {
		t.Fatalf("create: %+v %v", res, err)
	}
	d, err := s.tc.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("overlap policy %v, want skip", d.Schedule.Policy.Overlap)
	}
	action := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if action.ID != wf.WorkflowID("acme", "sched")+"/scheduled" || action.TaskQueue != wf.TaskQueue {
		t.Fatalf("action %+v", action)
	}

	cfg.Suppliers[0].Schedule = "30 4 * * *"
	if res, err := harvest.SyncSchedules(ctx, s.tc, cfg); err != nil || res.Updated != 1 {
		t.Fatalf("update: %+v %v", res, err)
	}
	d, _ = s.tc.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if cal := d.Schedule.Spec.Calendars; len(cal) != 1 || cal[0].Hour[0].Start != 4 || cal[0].Minute[0].Start != 30 {
		t.Fatalf("spec not updated: %+v", d.Schedule.Spec)
	}

	cfg.Suppliers[0].Schedule = ""
	if res, err := harvest.SyncSchedules(ctx, s.tc, cfg); err != nil || res.Deleted != 1 {
		t.Fatalf("delete: %+v %v", res, err)
	}
	_, err = s.tc.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("schedule still there: %v", err)
	}
}

// TestScheduledRunRespectsOneHarvestPerSupplier: a run started under a
// schedule-style id while the canonical harvest runs is refused, so manual
// and scheduled runs never overlap.
func TestScheduledRunRespectsOneHarvestPerSupplier(t *testing.T) {
	s := newStack(t, "approval_timeout: 1h\nchain_gardener: false\n")
	in := wf.Input{TenantID: "acme", SupplierCode: "one", Format: "csv", Force: true}
	in.FeedURL = s.serve("one10.csv", feedOf(seq(1, 10)...))
	if _, err := s.harvest(in); err != nil {
		t.Fatal(err)
	}
	// Park the canonical run in awaiting_approval (50% would go).
	in.FeedURL = s.serve("one5.csv", feedOf(seq(1, 5)...))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	manual, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "one"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	scheduled, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf.WorkflowID("acme", "one") + "/scheduled-2026-11-26T03:00:00Z", TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	err = scheduled.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != wf.ErrAlreadyRunning || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("scheduled run while the manual one runs: %v; want %s", err, wf.ErrAlreadyRunning)
	}
	if err := s.tc.SignalWorkflow(ctx, manual.GetID(), "", wf.SignalReject, nil); err != nil {
		t.Fatal(err)
	}
	if err := manual.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "not approved") {
		t.Fatalf("rejected run: %v", err)
	}
}
