package harvest_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/mock"

	"contextworker/workflows/harvest"
)

// TestWorkflowChainsGardener: a run that changed products notifies the
// gardener once; a failed notification does not fail the harvest.
func TestWorkflowChainsGardener(t *testing.T) {
	tests := []struct {
		name      string
		chain     bool
		notifyErr error
		wantCalls int32
	}{
		{name: "chained", chain: true, wantCalls: 1},
		{name: "notification fails, harvest succeeds", chain: true, notifyErr: context.DeadlineExceeded, wantCalls: 5},
		{name: "chaining off", chain: false, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harvest.WorkflowID("acme", "s1"))
			plan := testPlan()
			plan.ChainGardener = tt.chain
			h.onBegin(plan, nil)
			h.onStage(testStage(), nil)
			h.onMerge(mergeResult)
			h.onDeactivate(deactivateFreely)
			h.onFinish()
			var calls atomic.Int32
			if tt.chain {
				h.env.OnActivity(harvest.ActivityNotifyGardener, mock.Anything, mock.Anything).Return(
					func(_ context.Context, p harvest.Plan) error {
						calls.Add(1)
						if p.TenantID != "acme" {
							t.Errorf("notified tenant %q", p.TenantID)
						}
						return tt.notifyErr
					})
			}
			h.run(testInput())
			rep, err := h.result()
			if err != nil || rep.Status != harvest.StatusSucceeded {
				t.Fatalf("result %+v, %v", rep, err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Fatalf("NotifyGardener called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}
