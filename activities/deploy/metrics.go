package deploy

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"contextworker/internal/metrics"
)

// Step outcomes: the only values of the outcome labels.
const (
	outcomeSucceeded = "succeeded"
	outcomeSkipped   = "skipped" // succeeded with nothing to do (done by an earlier attempt, or disabled)
	outcomeFailed    = "failed"
	outcomeCanceled  = "canceled"
)

var (
	// metricSteps are the deploy steps the activities finish: the only
	// values of the steps counter's step label (plan commands' steps are
	// build and test; anything else counts as metrics.Overflow).
	metricSteps    = []string{"checkout", "prepare", "build", "test", "switch", "start", "health"}
	stepOutcomes   = []string{outcomeSucceeded, outcomeSkipped, outcomeFailed, outcomeCanceled}
	rollbackStates = []string{outcomeSucceeded, outcomeFailed, outcomeCanceled}
)

// Metrics are the deploy module's own metrics. A nil *Metrics records
// nothing (the worker serves no metrics). Labels hold fixed sets only:
// never a tenant, target, repository or release.
type Metrics struct {
	steps     *metrics.Counter
	rollbacks *metrics.Counter
}

// NewMetrics registers the metrics on r, or returns nil when r is nil.
// Every series of the fixed label sets starts at zero, and fills the
// vectors' limits, so any other value counts as metrics.Overflow.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	m := &Metrics{}
	var err error
	if m.steps, err = metrics.NewCounter(r, "deploy_steps_total",
		"Deploy step attempts finished, by step and outcome (succeeded, skipped, failed, canceled).",
		len(metricSteps)*len(stepOutcomes), "step", "outcome"); err != nil {
		return nil, err
	}
	if m.rollbacks, err = metrics.NewCounter(r, "deploy_rollbacks_total",
		"Rollback attempts finished, by outcome (succeeded, failed, canceled).",
		len(rollbackStates), "outcome"); err != nil {
		return nil, err
	}
	for _, s := range metricSteps {
		for _, o := range stepOutcomes {
			m.steps.Add(0, s, o)
		}
	}
	for _, o := range rollbackStates {
		m.rollbacks.Add(0, o)
	}
	return m, nil
}

// outcomeOf names how an attempt ended.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return outcomeSucceeded
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return outcomeCanceled
	default:
		return outcomeFailed
	}
}

// step counts a finished attempt of step.
func (m *Metrics) step(step string, skipped bool, err error) {
	if m == nil {
		return
	}
	o := outcomeOf(err)
	if o == outcomeSucceeded && skipped {
		o = outcomeSkipped
	}
	m.steps.Add(1, step, o)
}

// rollback counts a finished rollback attempt.
func (m *Metrics) rollback(err error) {
	if m == nil {
		return
	}
	m.rollbacks.Add(1, outcomeOf(err))
}
