package harvest

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAlive heartbeats every interval until the returned stop is called.
// Merge, Deactivate and the end of Stage each run one long SQL statement
// that cannot report progress itself; without this, a big partition would
// outlive the heartbeat timeout and be retried forever. A dead worker stops
// heartbeating, so crash detection still works.
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
