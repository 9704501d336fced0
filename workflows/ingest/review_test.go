package ingest_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/ingest"
)

// TestReviewWorkflow decides a quarantined SNO after its ingest run has
// closed: the decision goes to the Decide activity with the operator, once
// per run, and bad input never reaches it.
func TestReviewWorkflow(t *testing.T) {
	const sno = "0123456789abcdef"
	tests := []struct {
		name       string
		in         ingest.ReviewInput
		wantStatus string
		wantErr    string
	}{
		{"release", ingest.ReviewInput{TenantID: "acme", SNOID: sno, Decision: ingest.SignalRelease, Operator: "ops@acme", Note: "checked"},
			ingest.StatusAdmitted, ""},
		{"delete", ingest.ReviewInput{TenantID: "acme", SNOID: sno, Decision: ingest.SignalDelete, Operator: "ops@acme"},
			ingest.StatusDeleted, ""},
		{"no operator", ingest.ReviewInput{TenantID: "acme", SNOID: sno, Decision: ingest.SignalRelease},
			"", "operator: required"},
		{"every bad field named", ingest.ReviewInput{TenantID: "a b", SNOID: "x", Decision: "admit", Operator: "o"},
			"", "tenant_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			env := newEnv(t, f)
			env.RegisterWorkflowWithOptions(ingest.ReviewWorkflow, workflow.RegisterOptions{Name: ingest.ReviewWorkflowName})
			env.ExecuteWorkflow(ingest.ReviewWorkflowName, tt.in)
			var rep ingest.Report
			err := env.GetWorkflowResult(&rep)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if len(f.decides) != 0 {
					t.Fatalf("refused input reached Decide: %+v", f.decides)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.decides) != 1 {
				t.Fatalf("%d Decide calls, want 1", len(f.decides))
			}
			d := f.decides[0]
			if d.TenantID != "acme" || d.Decision != tt.in.Decision || d.Detail.SNOID != sno || d.Detail.Operator != "ops@acme" ||
				d.Detail.Note != tt.in.Note || !strings.HasPrefix(d.RequestID, "review-") {
				t.Fatalf("decide request %+v", d)
			}
			if rep.Status != tt.wantStatus || rep.Decision != tt.in.Decision || rep.Operator != "ops@acme" {
				t.Fatalf("report %+v", rep)
			}
		})
	}
}

func TestReviewInputValidate(t *testing.T) {
	in := ingest.ReviewInput{TenantID: "a b", SNOID: "ABC", Decision: "admit",
		Operator: strings.Repeat("o", ingest.MaxOperatorLen+1), Note: strings.Repeat("n", ingest.MaxNoteLen+1)}
	err := in.Validate()
	for _, field := range []string{"tenant_id", "sno_id", "decision", "operator", "note"} {
		if err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("Validate = %v: %s not named", err, field)
		}
	}
	if got := ingest.ReviewWorkflowID(&ingest.ReviewInput{TenantID: "acme", SNOID: "0123456789abcdef"}); got != "ingest-review/acme/0123456789abcdef" {
		t.Errorf("id %q", got)
	}
}
