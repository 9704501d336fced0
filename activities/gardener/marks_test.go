package gardener

import (
	"context"
	"slices"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// TestMarksOfAnUnfinishedRunPassToTheNext: a run that ends before its
// set-based passes (failed, or abandoned while running) leaves its marks,
// and the tenant's next run takes them as its own; its batches find the
// keys those runs stored and would not mark them again. A successful run
// removes its marks; another tenant's are left alone.
func TestMarksOfAnUnfinishedRunPassToTheNext(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	a, err := New(db, DefaultConfig(), nil, enrich.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	for _, r := range []struct{ run, tenant, status string }{
		{"failed", "t", wf.StatusFailed}, {"abandoned", "t", wf.StatusRunning}, {"done", "t", wf.StatusSucceeded}, {"other", "u", wf.StatusFailed},
	} {
		if _, err := db.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, full_run, status, watermark_to)
			VALUES ($1, 'gardener/' || $2, $2, false, $3, now())`, r.run, r.tenant, r.status); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO gardener_marks (run_id, name, key) VALUES ($1, 'm', $1 || '-key')`, r.run); err != nil {
			t.Fatal(err)
		}
	}
	marks := func(run string) []string {
		t.Helper()
		var keys []string
		if err := db.QueryRow(ctx, `SELECT coalesce(array_agg(key ORDER BY key), '{}') FROM gardener_marks WHERE run_id = $1`, run).Scan(&keys); err != nil {
			t.Fatal(err)
		}
		return keys
	}

	val, err := env.ExecuteActivity(a.Begin, wf.Input{TenantID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var plan wf.Plan
	if err := val.Get(&plan); err != nil {
		t.Fatal(err)
	}
	if got, want := marks(plan.RunID), []string{"abandoned-key", "failed-key"}; !slices.Equal(got, want) {
		t.Fatalf("the new run's marks = %q, want %q", got, want)
	}
	for _, run := range []string{"done", "other"} {
		if got := marks(run); !slices.Equal(got, []string{run + "-key"}) {
			t.Fatalf("marks of run %s = %q, want them left", run, got)
		}
	}

	// Failed, the run keeps them for the next; succeeded, it removes them.
	if _, err := env.ExecuteActivity(a.Finish, wf.FinishRequest{Plan: plan, Status: wf.StatusFailed, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	if got := marks(plan.RunID); len(got) != 2 {
		t.Fatalf("after a failed finish the marks = %q, want both kept", got)
	}
	if _, err := env.ExecuteActivity(a.Finish, wf.FinishRequest{Plan: plan, Status: wf.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if got := marks(plan.RunID); len(got) != 0 {
		t.Fatalf("after a successful finish the marks = %q, want none", got)
	}
}
