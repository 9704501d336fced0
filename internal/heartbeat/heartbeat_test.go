package heartbeat

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

func TestOutsideAnActivityNothingHappens(t *testing.T) {
	stop := KeepAlive(context.Background(), "x")
	stop()
	Record(context.Background(), "x")
}

// TestKeepAliveInsideAnActivity runs KeepAlive around work in a real
// activity context: the ticker must run and stop without disturbing the
// activity's result.
func TestKeepAliveInsideAnActivity(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	work := func(ctx context.Context) (string, error) {
		stop := KeepAlive(ctx, "working")
		time.Sleep(1200 * time.Millisecond) // more than one tick
		stop()
		Record(ctx, "done")
		return "ok", nil
	}
	env.RegisterActivity(work)
	v, err := env.ExecuteActivity(work)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := v.Get(&out); err != nil || out != "ok" {
		t.Fatalf("result %q, %v", out, err)
	}
}
