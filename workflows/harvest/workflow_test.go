package harvest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"contextworker/workflows/harvest"
)

// TestWorkflow runs a harvest of acme/s1 from Begin to Finish with mocked
// activities, one outcome per case.
func TestWorkflow(t *testing.T) {
	allParts := []int{0, 1, 2, 3}
	tests := []struct {
		name     string
		beginErr error
		stage    harvest.StageResult
		stageErr error
		merge    func(part int) (harvest.MergeResult, error)
		deact    func(harvest.DeactivateRequest) (harvest.DeactivateResult, error)
		// during runs a minute into the run: while the run awaits approval.
		during func(env *testsuite.TestWorkflowEnvironment)

		wantMerges []int // partitions Merge is called for, sorted
		// maybeMerges may also be merged, at most once: activities in
		// flight when the run fails may or may not have been called.
		maybeMerges  []int
		wantDeacts   []string // each Deactivate call: "check", "deactivate" or "approved"
		wantFinish   string   // status Finish records; "" = never called
		wantErr      func(error) bool
		wantErrMsg   string // in the error and in Finish's request
		wantTimedOut bool   // the run waited the whole approval timeout
	}{
		{
			name:       "succeeds",
			stage:      testStage(),
			deact:      deactivateFreely,
			wantMerges: allParts,
			wantDeacts: []string{"check", "deactivate"},
			wantFinish: harvest.StatusSucceeded,
		},
		{
			name:       "a first load has nothing to merge",
			stage:      func() harvest.StageResult { s := testStage(); s.Loaded = true; return s }(),
			deact:      deactivateFreely,
			wantDeacts: []string{"deactivate"},
			wantFinish: harvest.StatusSucceeded,
		},
		{
			name:       "a re-harvest that staged nothing has nothing to merge",
			stage:      func() harvest.StageResult { s := testStage(); s.NothingStaged = true; return s }(),
			deact:      deactivateFreely,
			wantDeacts: []string{"check", "deactivate"},
			wantFinish: harvest.StatusSucceeded,
		},
		{
			name:       "unchanged feed",
			stage:      harvest.StageResult{Unchanged: true},
			wantFinish: harvest.StatusUnchanged,
		},
		{
			name:       "begin fails before the run is recorded",
			beginErr:   temporal.NewNonRetryableApplicationError("supplier not configured", "BadConfig", nil),
			wantErr:    isAppErr("BadConfig"),
			wantErrMsg: "supplier not configured",
		},
		{
			name:       "stage fails",
			stageErr:   temporal.NewNonRetryableApplicationError("feed is not CSV", "FeedBroken", nil),
			wantFinish: harvest.StatusFailed,
			wantErr:    isAppErr("FeedBroken"),
			wantErrMsg: "feed is not CSV",
		},
		{
			name:  "a merge fails, so nothing is deactivated",
			stage: testStage(),
			merge: func(part int) (harvest.MergeResult, error) {
				if part == 2 {
					return harvest.MergeResult{}, temporal.NewNonRetryableApplicationError("constraint violated", "MergeBroken", nil)
				}
				return mergeResult(part)
			},
			deact:      deactivateFreely,
			wantDeacts: []string{"check"},
			// Parts 2 and 3 are one wave: both are scheduled before 2
			// fails, but the test environment may end the run before it
			// has called 3.
			wantMerges:  []int{0, 1, 2},
			maybeMerges: []int{3},
			wantFinish:  harvest.StatusFailed,
			wantErr:     isAppErr("MergeBroken"),
			wantErrMsg:  "constraint violated",
		},
		{
			name:       "approved deactivation",
			stage:      testStage(),
			deact:      deactivateWithApproval,
			during:     func(env *testsuite.TestWorkflowEnvironment) { env.SignalWorkflow(harvest.SignalApprove, nil) },
			wantMerges: allParts,
			wantDeacts: []string{"check", "approved"},
			wantFinish: harvest.StatusSucceeded,
		},
		{
			name:       "rejected deactivation",
			stage:      testStage(),
			deact:      deactivateWithApproval,
			during:     func(env *testsuite.TestWorkflowEnvironment) { env.SignalWorkflow(harvest.SignalReject, nil) },
			wantDeacts: []string{"check"},
			wantFinish: harvest.StatusFailed,
			wantErr:    isAppErr("DeactivationNotApproved"),
			wantErrMsg: "would deactivate 30 of 100 active products (30.0% > 10.0% allowed) and was not approved; nothing was merged or deactivated",
		},
		{
			name:         "approval times out",
			stage:        testStage(),
			deact:        deactivateWithApproval,
			wantDeacts:   []string{"check"},
			wantFinish:   harvest.StatusFailed,
			wantErr:      isAppErr("DeactivationNotApproved"),
			wantErrMsg:   "was not approved",
			wantTimedOut: true,
		},
		{
			name:       "canceled while awaiting approval",
			stage:      testStage(),
			deact:      deactivateWithApproval,
			during:     func(env *testsuite.TestWorkflowEnvironment) { env.CancelWorkflow() },
			wantDeacts: []string{"check"},
			wantFinish: harvest.StatusCanceled,
			wantErr:    temporal.IsCanceledError,
			wantErrMsg: "canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := testPlan()
			h := newHarness(t, harvest.WorkflowID("acme", "s1"))
			h.onBegin(plan, tt.beginErr)
			if tt.beginErr == nil {
				h.onStage(tt.stage, tt.stageErr)
			}
			if tt.wantMerges != nil {
				merge := tt.merge
				if merge == nil {
					merge = mergeResult
				}
				h.onMerge(merge)
			}
			if tt.deact != nil {
				h.onDeactivate(tt.deact)
			}
			if tt.wantFinish != "" {
				h.onFinish()
			}
			if tt.during != nil {
				h.env.RegisterDelayedCallback(func() { tt.during(h.env) }, time.Minute)
			}

			start := h.env.Now()
			h.run(testInput())
			rep, err := h.result()

			begins, stages, _, finishes := h.calls()
			if begins != 1 {
				t.Errorf("Begin called %d times, want 1", begins)
			}
			if tt.beginErr == nil && stages != 1 {
				t.Errorf("Stage called %d times, want 1", stages)
			}
			for _, s := range h.stages {
				if !plansEqual(s, plan) {
					t.Errorf("Stage got plan %+v, want %+v", s, plan)
				}
			}
			if got := slices.DeleteFunc(h.mergedParts(plan), func(p int) bool {
				return slices.Contains(tt.maybeMerges, p) && !slices.Contains(tt.wantMerges, p)
			}); !slices.Equal(got, tt.wantMerges) {
				t.Errorf("Merge called for parts %v (besides %v, which may be), want each of %v once", h.mergedParts(plan), tt.maybeMerges, tt.wantMerges)
			}
			var deacts []string
			for _, d := range h.deacts {
				deacts = append(deacts, map[[2]bool]string{{true, false}: "check", {false, false}: "deactivate", {false, true}: "approved"}[[2]bool{d.CheckOnly, d.Approved}])
				if !plansEqual(d.Plan, plan) {
					t.Errorf("Deactivate got plan %+v, want %+v", d.Plan, plan)
				}
			}
			if !slices.Equal(deacts, tt.wantDeacts) {
				t.Errorf("Deactivate calls %v, want %v", deacts, tt.wantDeacts)
			}
			if elapsed := h.env.Now().Sub(start); (elapsed >= plan.ApprovalTimeout) != tt.wantTimedOut {
				t.Errorf("run took %v (approval timeout %v), want timed out = %v", elapsed, plan.ApprovalTimeout, tt.wantTimedOut)
			}

			switch {
			case tt.wantFinish == "" && finishes != 0:
				t.Errorf("Finish called %d times, want none", finishes)
			case tt.wantFinish != "" && finishes != 1:
				t.Fatalf("Finish called %d times, want 1", finishes)
			case tt.wantFinish != "":
				fin := h.finishes[0]
				if fin.Status != tt.wantFinish {
					t.Errorf("Finish status = %q, want %q", fin.Status, tt.wantFinish)
				}
				if !strings.Contains(fin.Error, tt.wantErrMsg) || (tt.wantErrMsg == "") != (fin.Error == "") {
					t.Errorf("Finish error = %q, want %q", fin.Error, tt.wantErrMsg)
				}
				if !plansEqual(fin.Plan, plan) {
					t.Errorf("Finish got plan %+v, want %+v", fin.Plan, plan)
				}
			}

			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("workflow failed: %v", err)
				}
				if want := reportFor(h.finishes[0]); *rep != want {
					t.Errorf("workflow returned %+v, want Finish's report %+v", *rep, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("workflow returned %+v, want an error containing %q", rep, tt.wantErrMsg)
			}
			if !tt.wantErr(err) || !strings.Contains(err.Error(), tt.wantErrMsg) {
				t.Errorf("workflow error = %v, want one containing %q", err, tt.wantErrMsg)
			}
		})
	}
}

// TestWorkflowProgress queries a run while it awaits approval and after it
// has finished.
func TestWorkflowProgress(t *testing.T) {
	plan := testPlan()
	stage := testStage()
	h := newHarness(t, harvest.WorkflowID("acme", "s1"))
	h.onBegin(plan, nil)
	h.onStage(stage, nil)
	h.onMerge(mergeResult)
	h.onDeactivate(deactivateWithApproval)
	h.onFinish()
	sums := mergedTotals(0, 1, 2, 3)
	var waiting harvest.Progress
	h.env.RegisterDelayedCallback(func() {
		waiting = h.progress()
		h.env.SignalWorkflow(harvest.SignalApprove, nil)
	}, time.Minute)

	h.run(testInput())
	if _, err := h.result(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}

	tests := []struct {
		name string
		got  harvest.Progress
		want harvest.Progress
	}{
		// Since "approve-before-merge" the run asks before merging.
		{name: "awaiting approval", got: waiting, want: harvest.Progress{
			Phase: "awaiting_approval", RunID: plan.RunID, Stage: stage, PartsTotal: 4,
			Note: `would deactivate 30 of 100 active products (30.0% > 10.0% allowed); send signal "approve" to go on or "reject" to stop`,
		}},
		{name: "finished", got: h.progress(), want: harvest.Progress{
			Phase: harvest.StatusSucceeded, RunID: plan.RunID, Stage: stage, PartsDone: 4, PartsTotal: 4,
			Inserted: sums.Inserted, Updated: sums.Updated, Unchanged: sums.Unchanged, Deactivated: 30,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("progress =\n  %+v\nwant\n  %+v", tt.got, tt.want)
			}
		})
	}
}

// TestWorkflowSearchAttributes checks the run is findable by tenant,
// supplier and module. The test environment accepts any attribute name, so
// no registration is needed; the mock asserts the values.
func TestWorkflowSearchAttributes(t *testing.T) {
	h := newHarness(t, harvest.WorkflowID("acme", "s1"))
	h.env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(
		harvest.SearchTenant.ValueSet("acme"), harvest.SearchSupplier.ValueSet("s1"), harvest.SearchModule.ValueSet("harvest"),
	)).Return(nil).Once()
	h.onBegin(testPlan(), nil)
	h.onStage(harvest.StageResult{Unchanged: true}, nil)
	h.onFinish()

	h.run(testInput())
	if _, err := h.result(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
}

// TestWorkflowContinuesAsNew continues a run as new after its first merge
// wave, then runs the continuation, which must pick up where it stopped.
func TestWorkflowContinuesAsNew(t *testing.T) {
	plan := testPlan()
	plan.MaxHistoryEvents = 200
	stage := testStage()

	first := newHarness(t, harvest.WorkflowID("acme", "s1"))
	first.onBegin(plan, nil)
	first.onStage(stage, nil)
	first.onMerge(mergeResult)
	first.onDeactivate(deactivateFreely) // the check before merging
	// The test environment's history length stays at what the test sets
	// (0 by default), so the limit is reached by hand once a merge is done.
	// Completion listeners run on the environment's dispatcher, between
	// workflow steps, so this does not race with the workflow.
	first.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == harvest.ActivityMerge {
			first.env.SetCurrentHistoryLength(plan.MaxHistoryEvents)
		}
	})
	first.run(testInput())

	_, err := first.result()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want continue-as-new", err)
	}
	if can.WorkflowType == nil || can.WorkflowType.Name != harvest.WorkflowName {
		t.Errorf("continues as workflow type %+v, want %q", can.WorkflowType, harvest.WorkflowName)
	}
	var next harvest.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatalf("decode continue-as-new input: %v", err)
	}
	if next.TenantID != "acme" || next.SupplierCode != "s1" {
		t.Errorf("continued input is for %s/%s, want acme/s1", next.TenantID, next.SupplierCode)
	}
	st := next.State
	switch {
	case st == nil:
		t.Fatal("continued input carries no state")
	case st.Plan == nil || !plansEqual(*st.Plan, plan):
		t.Errorf("state plan = %+v, want %+v", st.Plan, plan)
	case st.Staged == nil || *st.Staged != stage:
		t.Errorf("state staged = %+v, want %+v", st.Staged, stage)
	}
	if got := slices.Sorted(slices.Values(st.PartsDone)); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("state parts done = %v, want [0 1] (the first wave)", got)
	}
	if want := mergedTotals(0, 1); st.Merged != want {
		t.Errorf("state merged = %+v, want %+v", st.Merged, want)
	}
	if st.Continuation != 1 {
		t.Errorf("state continuation = %d, want 1", st.Continuation)
	}
	if got := first.mergedParts(plan); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("first run merged parts %v, want [0 1]", got)
	}
	if _, _, deacts, finishes := first.calls(); deacts != 1 || !first.deacts[0].CheckOnly || finishes != 0 {
		t.Errorf("first run called Deactivate %d and Finish %d times, want one check and no Finish", deacts, finishes)
	}
	if !st.Checked {
		t.Error("state does not say the deactivation guard was checked: the continuation would ask again")
	}

	// The continuation: no Begin or Stage mocks, so calling them fails.
	second := newHarness(t, harvest.WorkflowID("acme", "s1"))
	second.env.SetContinuedExecutionRunID("first-run")
	second.onMerge(mergeResult)
	second.onDeactivate(deactivateFreely)
	second.onFinish()
	second.run(next)
	if _, err := second.result(); err != nil {
		t.Fatalf("continued workflow failed: %v", err)
	}
	if got := second.mergedParts(plan); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("continued run merged parts %v, want [2 3]", got)
	}
	if len(second.finishes) != 1 || second.finishes[0].Status != harvest.StatusSucceeded {
		t.Errorf("continued run finished with %+v, want one %q", second.finishes, harvest.StatusSucceeded)
	}
	p := second.progress()
	sums := mergedTotals(0, 1, 2, 3)
	if p.PartsDone != 4 || p.Continuation != 1 || p.Inserted != sums.Inserted || p.Updated != sums.Updated || p.Unchanged != sums.Unchanged {
		t.Errorf("continued progress = %+v, want 4 parts done over 1 continuation and merged %+v", p, sums)
	}
}

// TestWorkflowRejectsInvalidInput fails before any activity runs, without
// retries: such input can never succeed.
func TestWorkflowRejectsInvalidInput(t *testing.T) {
	tests := []struct {
		name      string
		in        harvest.Input
		wantField string
	}{
		{name: "empty tenant", in: harvest.Input{SupplierCode: "s1"}, wantField: "tenant_id"},
		{name: "supplier with a slash", in: harvest.Input{TenantID: "acme", SupplierCode: "s1/x"}, wantField: "supplier_code"},
		{name: "long delimiter", in: harvest.Input{TenantID: "acme", SupplierCode: "s1", Delimiter: ";;"}, wantField: "delimiter"},
		{name: "feed url with credentials", in: harvest.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: "https://u:secret@feeds.example/p.csv"}, wantField: "feed_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harvest.WorkflowID(tt.in.TenantID, tt.in.SupplierCode))
			h.run(tt.in)
			_, err := h.result()
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("workflow error = %v, want an application error", err)
			}
			if appErr.Type() != "InvalidInput" || !appErr.NonRetryable() || !strings.Contains(appErr.Message(), tt.wantField+":") {
				t.Errorf("workflow error = %v (type %q, non-retryable %v), want a non-retryable InvalidInput naming %s",
					appErr, appErr.Type(), appErr.NonRetryable(), tt.wantField)
			}
		})
	}
}

// TestWorkflowCredentialedURLBeganBeforeTheCheck replays the branch of a
// run begun before feed URLs with credentials were refused
// (refuse-credentialed-feed-url at its default version): it goes on to
// Begin, as it did then, instead of failing where its history has an
// activity.
func TestWorkflowCredentialedURLBeganBeforeTheCheck(t *testing.T) {
	in := harvest.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: "https://u:secret@feeds.example/p.csv"}
	h := newHarness(t, harvest.WorkflowID(in.TenantID, in.SupplierCode))
	h.env.OnGetVersion("refuse-credentialed-feed-url", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.onBegin(harvest.Plan{}, temporal.NewNonRetryableApplicationError("begun", "Begun", nil))
	h.run(in)
	_, err := h.result()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "Begun" {
		t.Fatalf("workflow error = %v, want Begin's error: the old branch does not refuse the URL", err)
	}
}

// TestWorkflowDelegates starts a harvest under a Schedule's id: it must run
// as a child under the canonical id and return the child's report.
func TestWorkflowDelegates(t *testing.T) {
	parentID := harvest.WorkflowID("acme", "s1") + "/scheduled-2026-01-02T03:04:05Z"
	canonical := harvest.WorkflowID("acme", "s1")
	h := newHarness(t, parentID)
	want := harvest.Report{RunID: "child-run", Status: harvest.StatusSucceeded, Inserted: 7}
	var childInput harvest.Input
	var childAttrs temporal.SearchAttributes
	// A workflow mock applies to the top-level run as well as to children
	// of the same type, so the parent's expectation runs the real workflow
	// and only the child under the canonical id is stubbed.
	h.env.OnWorkflow(harvest.WorkflowName, runWithID(parentID), mock.Anything).Return(harvest.Workflow).Once()
	h.env.OnWorkflow(harvest.WorkflowName, runWithID(canonical), mock.Anything).Return(
		func(ctx workflow.Context, in harvest.Input) (*harvest.Report, error) {
			childInput = in
			childAttrs = workflow.GetTypedSearchAttributes(ctx)
			return &want, nil
		}).Once()

	in := testInput()
	in.Force = true
	h.run(in)
	rep, err := h.result()
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if *rep != want {
		t.Errorf("workflow returned %+v, want the child's report %+v", *rep, want)
	}
	if childInput.TenantID != "acme" || childInput.SupplierCode != "s1" || !childInput.Force || childInput.State != nil {
		t.Errorf("child input = %+v, want the parent's", childInput)
	}
	for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
		harvest.SearchTenant: "acme", harvest.SearchSupplier: "s1", harvest.SearchModule: "harvest",
	} {
		if got, ok := childAttrs.GetKeyword(key); !ok || got != want {
			t.Errorf("child search attribute %s = %q (set %v), want %q", key.GetName(), got, ok, want)
		}
	}
}

// TestWorkflowDelegateAlreadyRunning starts a harvest under another id while
// a run holds the canonical id: the start must fail with ErrAlreadyRunning.
// Within one test environment only a workflow's children can hold an id, so
// a fixture workflow starts a blocker under the canonical id, then the
// harvest as a second child.
func TestWorkflowDelegateAlreadyRunning(t *testing.T) {
	const (
		fixtureName = "fixture"
		blockerName = "blocker"
	)
	canonical := harvest.WorkflowID("acme", "s1")
	h := newHarness(t, "fixture-1")
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		return workflow.Sleep(ctx, 24*time.Hour)
	}, workflow.RegisterOptions{Name: blockerName})
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		bctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: canonical, TaskQueue: harvest.TaskQueue})
		blocker := workflow.ExecuteChildWorkflow(bctx, blockerName)
		if err := blocker.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return err
		}
		hctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: canonical + "/manual", TaskQueue: harvest.TaskQueue})
		return workflow.ExecuteChildWorkflow(hctx, harvest.WorkflowName, testInput()).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: fixtureName})

	h.env.ExecuteWorkflow(fixtureName)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("fixture workflow did not complete")
	}
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != harvest.ErrAlreadyRunning || !appErr.NonRetryable() {
		t.Fatalf("harvest error = %v, want a non-retryable %s", err, harvest.ErrAlreadyRunning)
	}
	if want := "a harvest of acme/s1 is already running (workflow " + canonical + ")"; !strings.Contains(appErr.Message(), want) {
		t.Errorf("error message = %q, want it to contain %q", appErr.Message(), want)
	}
}

// runWithID matches a workflow mock's context argument by workflow id.
func runWithID(id string) any {
	return mock.MatchedBy(func(ctx workflow.Context) bool { return workflow.GetInfo(ctx).WorkflowExecution.ID == id })
}

// TestWorkflowRefusesCallerState: only the workflow's own continue-as-new
// may carry state, and it must belong to the input's tenant and supplier.
func TestWorkflowRefusesCallerState(t *testing.T) {
	plan := testPlan()
	other := plan
	other.TenantID = "globex"
	tests := []struct {
		name      string
		state     *harvest.State
		continued bool
		want      string
	}{
		{name: "fresh start with state", state: &harvest.State{Plan: &plan}, want: "state is internal"},
		{name: "continued with another tenant's plan", state: &harvest.State{Plan: &other}, continued: true, want: "another tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harvest.WorkflowID("acme", "s1"))
			if tt.continued {
				h.env.SetContinuedExecutionRunID("previous")
			}
			in := testInput()
			in.State = tt.state
			h.run(in)
			_, err := h.result()
			if err == nil || !isAppErr("InvalidInput")(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want InvalidInput mentioning %q", err, tt.want)
			}
		})
	}
}

// TestWorkflowProgressDuringStaging: live counts that the Stage activity
// signals show in the progress query while it runs, and its result
// replaces them when it ends.
func TestWorkflowProgressDuringStaging(t *testing.T) {
	plan := testPlan()
	stage := testStage()
	h := newHarness(t, harvest.WorkflowID("acme", "s1"))
	h.onBegin(plan, nil)
	h.env.OnActivity(harvest.ActivityStage, mock.Anything, mock.Anything).After(2*time.Minute).Return(stage, nil)
	h.onMerge(mergeResult)
	h.onDeactivate(deactivateFreely)
	h.onFinish()
	live := harvest.StageResult{Bytes: 1024, RowsRead: 300, Valid: 297, Rejected: 3, Attempts: 1}
	var during harvest.Progress
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(harvest.SignalStageProgress, live) }, time.Minute)
	h.env.RegisterDelayedCallback(func() { during = h.progress() }, 90*time.Second)

	h.run(testInput())
	if _, err := h.result(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if during.Phase != "staging" || during.Stage != live {
		t.Errorf("progress during staging = %+v, want phase staging with %+v", during, live)
	}
	if got := h.progress().Stage; got != stage {
		t.Errorf("progress after staging = %+v, want Stage's result %+v", got, stage)
	}
}
