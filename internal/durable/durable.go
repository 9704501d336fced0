// Package durable holds the workflow building blocks every module's
// workflow uses alike: activity options with our retry policy, the
// canonical-id child (one run per key), when to continue as new, and how a
// failure is reported. Deterministic only: it runs inside workflow code and
// must never do I/O, read clocks or start goroutines.
package durable

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// defaultFinishTimeout bounds a finishing activity: it writes one row.
const defaultFinishTimeout = time.Minute

// ActivityContext returns ctx with options for one activity on queue:
// retries back off from 1 s to 1 min; attempts 0 means until the
// start-to-close or workflow deadline.
func ActivityContext(ctx workflow.Context, queue, summary string, startToClose, heartbeat time.Duration, attempts int32) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: startToClose,
		HeartbeatTimeout:    heartbeat,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    attempts,
		},
	})
}

// Outcome says how a run ended on cause: canceled (the workflow or an
// activity was canceled) or failed, with the message to record — an
// application error's own message, without the SDK's wrapping.
func Outcome(ctx workflow.Context, cause error) (canceled bool, msg string) {
	canceled = temporal.IsCanceledError(cause) || errors.Is(ctx.Err(), workflow.ErrCanceled)
	msg = cause.Error()
	var appErr *temporal.ApplicationError
	if errors.As(cause, &appErr) {
		msg = appErr.Message()
	}
	return canceled, msg
}
