package starter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"contextworker/internal/searchattr"
)

const (
	// visibilityLag is how long a started run may stay out of the
	// visibility count; starts this recent are counted by the starter
	// itself, once whether visibility shows them yet or not.
	visibilityLag = 3 * time.Second
	// runLimitRetry is the Retry-After of a start refused for the cap:
	// runs take seconds to hours, a client should not spin.
	runLimitRetry = 10 * time.Second
	// maxRecentChecked bounds the ids of recent starts looked up in
	// visibility at once; older recent starts count as not yet visible.
	maxRecentChecked = 100
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
	recent    map[string][]recentStart
	lastSweep time.Time
}

// recentStart is a run the starter started less than visibilityLag ago.
type recentStart struct {
	id string
	at time.Time
}

func newRunLimiter(tc client.Client, namespace string, max func(string) int, now func() time.Time) *runLimiter {
	return &runLimiter{tc: tc, namespace: namespace, max: max, now: now,
		inflight: make(map[string]int), recent: make(map[string][]recentStart)}
}

// admit returns the 429 to answer when tenant already has its cap of open
// runs of workflowType, and otherwise counts one more start in flight until
// release is called with the workflow id it started ("": none).
func (l *runLimiter) admit(ctx context.Context, tenant, workflowType string) (release func(startedID string), err error) {
	limit := l.max(workflowType)
	if limit <= 0 {
		return func(string) {}, nil
	}
	key := tenant + "/" + workflowType
	l.mu.Lock()
	l.prune(key, l.now())
	var recent []string
	rs := l.recent[key]
	for _, r := range rs[max(0, len(rs)-maxRecentChecked):] {
		if safeLiteral(r.id) {
			recent = append(recent, "'"+r.id+"'")
		}
	}
	l.mu.Unlock()

	// Both values are checked against fixed sets (ident, the registry):
	// neither can leave its string literal.
	ofType := fmt.Sprintf("%s = '%s' AND WorkflowType = '%s'", searchattr.Tenant.GetName(), tenant, workflowType)
	// Recent starts are counted here, every one of them less those
	// visibility already shows closed; visibility counts the other open
	// runs. No run is in both counts, whenever it turns visible or closes
	// between the two queries (counting recent runs that visibility shows
	// from the open count instead raced: a run turning visible between the
	// queries counted twice, and refused a start below the cap).
	notRecent := ""
	for _, id := range recent {
		notRecent += " AND WorkflowId != " + id
	}
	visible, err := l.count(ctx, ofType+" AND ExecutionStatus = 'Running'"+notRecent)
	if err != nil {
		return nil, err
	}
	var closed int64
	if len(recent) > 0 {
		if closed, err = l.count(ctx, ofType+" AND ExecutionStatus != 'Running' AND WorkflowId IN ("+strings.Join(recent, ", ")+")"); err != nil {
			return nil, err
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if open := int(visible-closed) + l.inflight[key] + len(l.recent[key]); open >= limit {
		return nil, newError(http.StatusTooManyRequests, codeTooManyRuns,
			"your tenant has %d open %s runs, the most allowed at once; retry when one has closed", limit, workflowType).
			withHeader("Retry-After", retryAfter(runLimitRetry))
	}
	l.inflight[key]++
	return func(startedID string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.inflight[key]--; l.inflight[key] <= 0 {
			delete(l.inflight, key)
		}
		if startedID != "" && !slices.ContainsFunc(l.recent[key], func(r recentStart) bool { return r.id == startedID }) {
			l.recent[key] = append(l.recent[key], recentStart{id: startedID, at: l.now()})
		}
	}, nil
}

func (l *runLimiter) count(ctx context.Context, query string) (int64, error) {
	resp, err := l.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: l.namespace, Query: query})
	if err != nil {
		return 0, fmt.Errorf("count open runs: %w", err)
	}
	return resp.GetCount(), nil
}

// safeLiteral reports whether id can stand in a visibility query's string
// literal as is. Other ids are simply counted as not yet visible.
func safeLiteral(id string) bool { return !strings.ContainsAny(id, `'"\`) }

// prune forgets starts older than visibilityLag for key, and for every key
// once in a while. l.mu must be held.
func (l *runLimiter) prune(key string, now time.Time) {
	keep := func(k string) {
		ts := l.recent[k]
		i := 0
		for i < len(ts) && now.Sub(ts[i].at) > visibilityLag {
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
