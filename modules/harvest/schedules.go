package harvest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	acts "contextworker/activities/harvest"
	wf "contextworker/workflows/harvest"
)

// schedulePrefix marks the schedules this module manages: any schedule
// whose id starts with it and is not in the config is deleted by a sync.
const schedulePrefix = "harvest/"

// ScheduleID is the id of a supplier's schedule.
func ScheduleID(tenant, supplier string) string { return schedulePrefix + tenant + "/" + supplier }

// SyncResult counts what a sync changed.
type SyncResult struct{ Created, Updated, Deleted int }

// SyncSchedules makes the Temporal Schedules match the suppliers' schedule
// settings: create missing ones, update changed ones, delete ones whose
// supplier lost its schedule. Scheduled runs start with the id
// "harvest/<tenant>/<supplier>/scheduled" (plus the timestamp Temporal adds)
// and delegate to the canonical "harvest/<tenant>/<supplier>" workflow, so
// a scheduled run and a manual run can never overlap: overlap policy skip
// covers schedule-vs-schedule, the canonical id covers the rest.
func SyncSchedules(ctx context.Context, c client.Client, cfg *acts.Config) (SyncResult, error) {
	var res SyncResult
	sc := c.ScheduleClient()
	want := make(map[string]acts.Supplier)
	for _, s := range cfg.Suppliers {
		if s.Schedule != "" {
			want[ScheduleID(s.Tenant, s.Code)] = s
		}
	}
	existing := make(map[string]bool)
	it, err := sc.List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return res, err
	}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return res, err
		}
		if strings.HasPrefix(e.ID, schedulePrefix) {
			existing[e.ID] = true
		}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := want[id]
		action := scheduleAction(s)
		spec := client.ScheduleSpec{CronExpressions: []string{s.Schedule}}
		if !existing[id] {
			_, err := sc.Create(ctx, client.ScheduleOptions{
				ID: id, Spec: spec, Action: action,
				Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
				Note:    "managed by contextworker (modules.harvest.suppliers); edits are overwritten by `worker schedules sync`",
				TypedSearchAttributes: temporal.NewSearchAttributes(
					wf.SearchTenant.ValueSet(s.Tenant), wf.SearchSupplier.ValueSet(s.Code), wf.SearchModule.ValueSet("harvest")),
			})
			if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				existing[id] = true // listed late: update it instead
			} else if err != nil {
				return res, fmt.Errorf("create %s: %w", id, err)
			} else {
				res.Created++
				continue
			}
		}
		err := sc.GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				sched.Action = action
				sched.Spec = &spec
				if sched.Policy == nil {
					sched.Policy = &client.SchedulePolicies{}
				}
				sched.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			},
		})
		if err != nil {
			return res, fmt.Errorf("update %s: %w", id, err)
		}
		res.Updated++
	}
	for id := range existing {
		if _, ok := want[id]; ok {
			continue
		}
		if err := sc.GetHandle(ctx, id).Delete(ctx); err != nil {
			return res, fmt.Errorf("delete %s: %w", id, err)
		}
		res.Deleted++
	}
	return res, nil
}

func scheduleAction(s acts.Supplier) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:            wf.WorkflowID(s.Tenant, s.Code) + "/scheduled",
		Workflow:      wf.WorkflowName,
		Args:          []any{wf.Input{TenantID: s.Tenant, SupplierCode: s.Code}},
		TaskQueue:     wf.TaskQueue,
		StaticSummary: fmt.Sprintf("scheduled harvest %s/%s (%s)", s.Tenant, s.Code, s.Schedule),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			wf.SearchTenant.ValueSet(s.Tenant), wf.SearchSupplier.ValueSet(s.Code), wf.SearchModule.ValueSet("harvest")),
	}
}
