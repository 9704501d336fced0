package gardener

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAlive heartbeats details every quarter heartbeat timeout until the
// returned stop is called: the set-based passes are single statements that
// cannot report progress. A dead worker stops heartbeating, so crash
// detection still works.
func keepAlive(ctx context.Context, details ...any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	interval := time.Second
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		interval = max(hb/4, 100*time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details...)
			}
		}
	}()
	return func() { close(done) }
}

func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}
