package starter

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"contextworker/internal/searchattr"
)

const (
	// visibilityLag is how long a started run may stay out of the
	// visibility count; starts this recent are counted by the starter
	// itself (a run may then count twice: the cap errs on the safe side).
	visibilityLag = 3 * time.Second
	// runLimitRetry is the Retry-After of a start refused for the cap:
	// runs take seconds to hours, a client should not spin.
	runLimitRetry = 10 * time.Second
)

// runLimiter caps the runs of one workflow type a tenant has open at once.
// Open runs are counted in Temporal's visibility store, plus the starts
// this starter has in flight or made too recently to be visible, so a burst
// of starts cannot slip past the cap while visibility catches up.
type runLimiter struct {
	tc        client.Client
	namespace string
	max       func(workflowType string) int
	now       func() time.Time

	mu        sync.Mutex
	inflight  map[string]int
	recent    map[string][]time.Time
	lastSweep time.Time
}

func newRunLimiter(tc client.Client, namespace string, max func(string) int, now func() time.Time) *runLimiter {
	return &runLimiter{tc: tc, namespace: namespace, max: max, now: now,
		inflight: make(map[string]int), recent: make(map[string][]time.Time)}
}

// admit returns the 429 to answer when tenant already has its cap of open
// runs of workflowType, and otherwise counts one more start in flight until
// release is called with whether it started a run.
func (l *runLimiter) admit(ctx context.Context, tenant, workflowType string) (release func(started bool), err error) {
	limit := l.max(workflowType)
	if limit <= 0 {
		return func(bool) {}, nil
	}
	// Both values are checked against fixed sets (ident, the registry):
	// neither can leave its string literal.
	resp, err := l.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: l.namespace,
		Query: fmt.Sprintf("%s = '%s' AND WorkflowType = '%s' AND ExecutionStatus = 'Running'",
			searchattr.Tenant.GetName(), tenant, workflowType),
	})
	if err != nil {
		return nil, fmt.Errorf("count open runs: %w", err)
	}
	key := tenant + "/" + workflowType
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(key, now)
	if open := int(resp.GetCount()) + l.inflight[key] + len(l.recent[key]); open >= limit {
		return nil, newError(http.StatusTooManyRequests, codeTooManyRuns,
			"your tenant has %d open %s runs, the most allowed at once; retry when one has closed", limit, workflowType).
			withHeader("Retry-After", retryAfter(runLimitRetry))
	}
	l.inflight[key]++
	return func(started bool) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.inflight[key]--; l.inflight[key] <= 0 {
			delete(l.inflight, key)
		}
		if started {
			l.recent[key] = append(l.recent[key], l.now())
		}
	}, nil
}

// prune forgets starts older than visibilityLag for key, and for every key
// once in a while. l.mu must be held.
func (l *runLimiter) prune(key string, now time.Time) {
	keep := func(k string) {
		ts := l.recent[k]
		i := 0
		for i < len(ts) && now.Sub(ts[i]) > visibilityLag {
			i++
		}
		if i == len(ts) {
			delete(l.recent, k)
		} else {
			l.recent[k] = ts[i:]
		}
	}
	keep(key)
	if now.Sub(l.lastSweep) > time.Minute {
		for k := range l.recent {
			keep(k)
		}
		l.lastSweep = now
	}
}
