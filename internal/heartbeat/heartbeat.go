// Package heartbeat keeps Temporal activities alive while they run work
// that cannot report progress itself, such as one long SQL statement. It
// never records anything outside an activity context.
package heartbeat

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// KeepAlive heartbeats details every quarter of the activity's heartbeat
// timeout (every second when it has none) until the returned stop is
// called. Without it a long statement would outlive the heartbeat timeout
// and be retried forever; a dead worker stops heartbeating, so crash
// detection still works.
func KeepAlive(ctx context.Context, details ...any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	interval := time.Second
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		interval = max(hb/4, 100*time.Millisecond)
	}
	return tick(ctx, interval, func() { activity.RecordHeartbeat(ctx, details...) })
}

// tick calls beat every interval until stop is called or ctx ends; stop
// returns once the ticker goroutine has finished, so no beat follows it.
func tick(ctx context.Context, interval time.Duration, beat func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				beat()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Record heartbeats details when ctx is an activity's, and does nothing
// otherwise (so activity code also runs in plain tests).
func Record(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}
