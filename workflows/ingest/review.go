package ingest

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.temporal.io/sdk/workflow"

	"contextworker/internal/ident"
	"contextworker/internal/searchattr"
)

// ReviewWorkflowName is the ingest-review workflow: an operator's release
// or delete of a quarantined SNO at any time. The ingest and ingest-batch
// runs take the same decision as a signal while they wait for review;
// once they have closed (their review_timeout passed, or review_timeout is
// 0), this is how a quarantined SNO is decided.
const ReviewWorkflowName = "ingest-review"

// Limits of a review input.
const (
	MaxOperatorLen = 256
	MaxNoteLen     = 2000
)

var snoIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ReviewInput is the ingest-review workflow's input.
type ReviewInput struct {
	TenantID string `json:"tenant_id"`
	// SNOID is the quarantined SNO (16 hex digits, as the ingest report,
	// the progress query and ingest_quarantine show it).
	SNOID string `json:"sno_id"`
	// Decision is "release" (admit it) or "delete".
	Decision string `json:"decision"`
	// Operator is who decided, recorded with the decision. The starter
	// sets it to the caller's JWT subject, whatever the request says;
	// other clients (the temporal CLI) must name the operator.
	Operator string `json:"operator,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Validate checks the input's fields; every problem names its field. An
// empty operator passes here, because the starter fills it in after
// validating: the workflow refuses to run without one (RequireOperator).
func (in *ReviewInput) Validate() error {
	var errs []error
	if err := ident.Check("tenant_id", in.TenantID); err != nil {
		errs = append(errs, err)
	}
	if !snoIDPattern.MatchString(in.SNOID) {
		errs = append(errs, fmt.Errorf("sno_id: %.40q must be 16 lower-case hex digits", in.SNOID))
	}
	if in.Decision != SignalRelease && in.Decision != SignalDelete {
		errs = append(errs, fmt.Errorf("decision: %.40q must be %q or %q", in.Decision, SignalRelease, SignalDelete))
	}
	if len(in.Operator) > MaxOperatorLen {
		errs = append(errs, fmt.Errorf("operator: %d bytes, at most %d", len(in.Operator), MaxOperatorLen))
	}
	if len(in.Note) > MaxNoteLen {
		errs = append(errs, fmt.Errorf("note: %d bytes, at most %d", len(in.Note), MaxNoteLen))
	}
	return errors.Join(errs...)
}

// RequireOperator refuses an input that names no operator: a decision is
// always recorded with who took it.
func (in *ReviewInput) RequireOperator() error {
	if in.Operator == "" {
		return errors.New("operator: required (the starter sets it from your token; with the temporal CLI, name yourself)")
	}
	return nil
}

// ReviewWorkflowID is "ingest-review/<tenant>/<sno_id>": one review of an
// SNO runs at a time. A later review of the same SNO may start once it
// closed, and is refused by the Decide activity unless the SNO is still
// quarantined.
func ReviewWorkflowID(in *ReviewInput) string {
	return ReviewWorkflowName + "/" + in.TenantID + "/" + in.SNOID
}

// ReviewWorkflow records and applies one decision on a quarantined SNO
// through the Decide activity, the same one the review signals use, and
// returns the SNO's outcome after it.
func ReviewWorkflow(ctx workflow.Context, in ReviewInput) (*Report, error) {
	if err := errors.Join(in.Validate(), in.RequireOperator()); err != nil {
		return nil, invalid(err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		searchattr.Tenant.ValueSet(in.TenantID), searchattr.Module.ValueSet(ModuleName)); err != nil {
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("%s of SNO **%s** by %s", in.Decision, in.SNOID, in.Operator))
	req := DecideRequest{
		TenantID: in.TenantID, Decision: in.Decision,
		Detail: Decision{SNOID: in.SNOID, Operator: in.Operator, Note: in.Note},
		// Idempotent per run: a retried activity applies it once, and a
		// later review run of the same SNO is a new request.
		RequestID: "review-" + workflow.GetInfo(ctx).WorkflowExecution.RunID,
	}
	var after Outcome
	actx := activityCtx(ctx, "record and apply the operator's decision", time.Minute, 0, 0)
	if err := workflow.ExecuteActivity(actx, ActivityDecide, req).Get(ctx, &after); err != nil {
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, details(after)+fmt.Sprintf("; %s by %s", in.Decision, in.Operator))
	return &Report{Outcome: after, Decision: in.Decision, Operator: in.Operator}, nil
}
