package harvest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	wf "contextworker/workflows/harvest"
)

func feedOf(skus ...int) string {
	var b strings.Builder
	b.WriteString(header)
	for _, i := range skus {
		b.WriteString(goodRow(i, "3.00"))
	}
	return b.String()
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestDeactivation: products missing from a complete run are deactivated
// (never deleted); beyond the allowed share the run waits for approve.
func TestDeactivation(t *testing.T) {
	s := newStack(t, "max_deactivate_share: 0.2\nchain_gardener: false\n")
	in := wf.Input{TenantID: "acme", SupplierCode: "d1", Format: "csv", Force: true}

	in.FeedURL = s.serve("d10.csv", feedOf(seq(1, 10)...))
	if rep, err := s.harvest(in); err != nil || rep.Inserted != 10 {
		t.Fatalf("seed: %+v %v", rep, err)
	}
	in.FeedURL = s.serve("d9.csv", feedOf(seq(2, 10)...)) // SKU-001 gone: 10% ≤ 20%
	rep, err := s.harvest(in)
	if err != nil || rep.Deactivated != 1 || rep.Unchanged != 9 || rep.Inserted+rep.Updated != 0 {
		t.Fatalf("one missing: %+v %v", rep, err)
	}
	cat := s.catalogue("acme", "d1")
	if len(cat) != 10 || !strings.HasSuffix(cat["SKU-001"], "|inactive") {
		t.Fatalf("SKU-001 should be kept, inactive: %v", cat["SKU-001"])
	}

	t.Run("comes back active", func(t *testing.T) {
		in.FeedURL = s.serve("d10b.csv", feedOf(seq(1, 10)...))
		rep, err := s.harvest(in)
		if err != nil || rep.Updated != 1 || rep.Deactivated != 0 {
			t.Fatalf("reactivation: %+v %v", rep, err)
		}
		if c := s.catalogue("acme", "d1"); !strings.HasSuffix(c["SKU-001"], "|active") {
			t.Fatalf("SKU-001 not reactivated: %s", c["SKU-001"])
		}
	})

	t.Run("over the share waits for approve", func(t *testing.T) {
		in.FeedURL = s.serve("d5.csv", feedOf(seq(1, 5)...)) // 5 of 10 missing: 50%
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID("acme", "d1"), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
		if err != nil {
			t.Fatal(err)
		}
		for {
			v, err := s.tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), wf.QueryProgress)
			if err == nil {
				var p wf.Progress
				if v.Get(&p) == nil && p.Phase == "awaiting_approval" {
					break
				}
			}
			select {
			case <-ctx.Done():
				t.Fatal("never asked for approval")
			case <-time.After(100 * time.Millisecond):
			}
		}
		if c := s.catalogue("acme", "d1"); strings.Count(strings.Join(values(c), ","), "|inactive") != 0 {
			t.Fatal("deactivated before approval")
		}
		if err := s.tc.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), wf.SignalApprove, nil); err != nil {
			t.Fatal(err)
		}
		var rep wf.Report
		if err := run.Get(ctx, &rep); err != nil || rep.Deactivated != 5 {
			t.Fatalf("after approve: %+v %v", rep, err)
		}
	})
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
