package harvest

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	wf "contextworker/workflows/harvest"
)

// Live progress of staging.
//
// The progress query is answered by the workflow from what its history
// holds, and a running activity's heartbeat details are not in history (the
// Web UI shows them as the pending activity's details; Stage heartbeats its
// counts every quarter of heartbeat_timeout). So that the query shows live
// counts too, Stage also signals them to its own workflow
// (wf.SignalStageProgress): first after progress_interval, then at doubling
// intervals up to 5 minutes. Each signal costs about four history events,
// so a six-hour stage adds under a hundred signals, and a one-minute stage
// two or three. The counts are those of committed batches (what a retry
// would resume from) plus the bytes read so far.

// maxProgressInterval caps the doubling interval of progress signals.
const maxProgressInterval = 5 * time.Minute

// reportProgress signals live staging counts to the run's workflow until
// the returned stop is called. Failing to signal only loses a progress
// update: it is logged, never fatal.
func (a *Activities) reportProgress(ctx context.Context, live *liveProgress, bytes func() int64) (stop func()) {
	if a.Temporal == nil || a.Config.ProgressInterval <= 0 || !activity.IsActivity(ctx) {
		return func() {}
	}
	info := activity.GetInfo(ctx)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		interval := a.Config.ProgressInterval
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			live.mu.Lock()
			p := live.cp.result()
			live.mu.Unlock()
			p.Bytes = bytes()
			if err := a.Temporal.SignalWorkflow(ctx, info.WorkflowExecution.ID, "", wf.SignalStageProgress, p); err != nil && ctx.Err() == nil {
				activity.GetLogger(ctx).Warn("could not signal staging progress", "error", err)
			}
			interval = min(2*interval, maxProgressInterval)
			t.Reset(interval)
		}
	}()
	return func() { cancel(); <-done }
}
