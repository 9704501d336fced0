package gardener

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/modules/gardener/enrich"
	wf "contextworker/workflows/gardener"
)

// TestEnrichReturnsOnceHalfItsTimeoutIsUsed runs Enrich with a timeout
// already half used: each call commits one batch, not
// batches_per_activity, and the calls still cover every product once.
func TestEnrichReturnsOnceHalfItsTimeoutIsUsed(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	const products = 7
	for i := range products {
		if _, err := db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, price, currency, availability,
				content_hash, first_seen, last_seen, last_run_id)
			VALUES ('budget', 's', $1, 'Widget', 1, 'EUR', 'in_stock', 'h', now(), now(), 'r')`, fmt.Sprintf("sku-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.BatchesPerActivity = 2, 100
	a, err := New(db, cfg, slog.New(slog.DiscardHandler), enrich.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.Begin, wf.Input{TenantID: "budget", Full: true})
	if err != nil {
		t.Fatal(err)
	}
	var plan wf.Plan
	if err := v.Get(&plan); err != nil {
		t.Fatal(err)
	}
	plan.EnrichTimeout = time.Nanosecond // half of it is long gone
	var calls int
	var res wf.EnrichResult
	for !res.Done {
		if calls++; calls > 10 {
			t.Fatalf("not done after %d calls: %+v", calls-1, res)
		}
		before := res.Batches
		v, err := env.ExecuteActivity(a.Enrich, plan)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		if !res.Done && res.Batches != before+1 {
			t.Fatalf("call %d committed %d batches, want 1 (batches_per_activity is %d)", calls, res.Batches-before, plan.BatchesPerActivity)
		}
	}
	// 7 products in batches of 2: four batches, then the empty one that
	// finds the window's end.
	if res.Processed != products || res.Batches != 4 || calls != 5 {
		t.Fatalf("done after %d calls: %+v; want %d products in 4 batches over 5 calls", calls, res, products)
	}
}
