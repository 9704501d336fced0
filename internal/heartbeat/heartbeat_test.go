package heartbeat

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestOutsideAnActivityNothingHappens(t *testing.T) {
	stop := KeepAlive(context.Background(), "x")
	stop()
	Record(context.Background(), "x")
}

// TestTickBeatsUntilStopped: beats keep coming while work runs, and none
// comes after stop returns.
func TestTickBeatsUntilStopped(t *testing.T) {
	var beats atomic.Int32
	stop := tick(context.Background(), time.Millisecond, func() { beats.Add(1) })
	for beats.Load() < 3 {
		time.Sleep(time.Millisecond) // wait for beats, bounded by the test timeout
	}
	stop()
	after := beats.Load()
	time.Sleep(20 * time.Millisecond)
	if beats.Load() != after {
		t.Fatalf("beats went on after stop: %d then %d", after, beats.Load())
	}
}

func TestTickEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var beats atomic.Int32
	stop := tick(ctx, time.Millisecond, func() { beats.Add(1) })
	cancel()
	stop() // returns although the goroutine already ended with ctx
}
