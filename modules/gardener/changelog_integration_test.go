package gardener_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	gwf "contextworker/workflows/gardener"
	hwf "contextworker/workflows/harvest"
)

// harvestAs harvests a feed into tenant's supplier.
func (s *stack) harvestAs(tenant, supplier, feed string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := hwf.Input{TenantID: tenant, SupplierCode: supplier, FeedURL: s.serve(tenant+"-"+supplier+".csv", feed), Format: "csv", Force: true}
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: hwf.WorkflowID(tenant, supplier), TaskQueue: hwf.TaskQueue}, hwf.WorkflowName, in)
	if err != nil {
		s.t.Fatal(err)
	}
	var rep hwf.Report
	if err := run.Get(ctx, &rep); err != nil || rep.Status != hwf.StatusSucceeded {
		s.t.Fatalf("harvest %s/%s: %+v %v", tenant, supplier, rep, err)
	}
}

// changeLogged reports whether the run read its window from the change log.
func (s *stack) changeLogged(runID string) bool {
	s.t.Helper()
	var logged *bool
	var cursor string
	if err := s.db.QueryRow(context.Background(), `SELECT change_log, cursor_supplier || cursor_sku FROM gardener_runs WHERE run_id = $1`,
		runID).Scan(&logged, &cursor); err != nil {
		s.t.Fatal(err)
	}
	if logged != nil && *logged && cursor != "" {
		// A worker from before the log taking the run over walks on from
		// the key cursor: a logged run's must stay at the start.
		s.t.Fatalf("logged run %s left its key cursor at %q, want it at the start", runID, cursor)
	}
	return logged != nil && *logged
}

// TestLoggedRunsMatchTheWalk runs the same harvests in two tenants whose
// gardener reads changes from the log (logged) and walks products for them
// (walked: its log's horizon is in the future, as if retention had cut
// it). Each run processes the same products and leaves the same
// enrichments in both; the logged tenant walks when a first load is in
// its window, and a rerun with nothing changed reads nothing. The logged
// tenant skips the products whose changes no enricher reads (prices), and
// its enrichments still match.
func TestLoggedRunsMatchTheWalk(t *testing.T) {
	s := newStack(t, true)
	ctx := context.Background()
	if _, err := s.db.Exec(ctx, `INSERT INTO product_changes_horizon (tenant_id, complete_after) VALUES ('walked', 'infinity')`); err != nil {
		t.Fatal(err)
	}
	tenants := []string{"logged", "walked"}
	// step runs the harvests in both tenants, then a gardener in each,
	// and checks them against each other: the logged tenant processes
	// processed products and skips skipped, the walked one processes both.
	step := func(name string, logged bool, processed, skipped int64, harvests ...[2]string) {
		t.Helper()
		for _, tenant := range tenants {
			for _, h := range harvests {
				s.harvestAs(tenant, h[0], h[1])
			}
		}
		var reps []gwf.Report
		for _, tenant := range tenants {
			reps = append(reps, s.garden(gwf.Input{TenantID: tenant}))
		}
		if got := s.changeLogged(reps[0].RunID); got != logged {
			t.Fatalf("%s: the logged tenant's run read the log: %v, want %v", name, got, logged)
		}
		if s.changeLogged(reps[1].RunID) {
			t.Fatalf("%s: the walked tenant's run read the log", name)
		}
		for i, want := range [][2]int64{{processed, skipped}, {processed + skipped, 0}} {
			if rep := reps[i]; rep.Processed != want[0] || rep.Skipped != want[1] {
				t.Errorf("%s: %s processed %d products and skipped %d, want %d and %d", name, tenants[i], rep.Processed, rep.Skipped, want[0], want[1])
			}
		}
		if reps[0].Written != reps[1].Written || reps[0].Deleted != reps[1].Deleted || reps[0].Finalized != reps[1].Finalized {
			t.Errorf("%s: logged %+v, walked %+v", name, reps[0].Totals, reps[1].Totals)
		}
		a, b := s.enrichments("logged"), s.enrichments("walked")
		for k, e := range a {
			f, ok := b[k]
			if strings.HasSuffix(k, " quality.stock_zero_since") {
				e.value = f.value // the time the run saw it: the tenants' runs differ
			}
			if !ok || e.value != f.value || e.enricher != f.enricher || e.version != f.version {
				t.Errorf("%s: %s: logged %+v, walked %+v", name, k, e, f)
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				t.Errorf("%s: %s: only the walked tenant has it", name, k)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	step("first run", false, 8, 0, [2]string{"s1", feedS1}, [2]string{"s2", feedS2})
	step("rerun, nothing changed", true, 0, 0)
	// Two harvests of s1 in one window (H1's price changed by both, skipped;
	// N1 new, the drill's brand changed), one of s2 (a brand changed).
	s1a := strings.Replace(feedS1, ",10.00,", ",12.00,", 1) +
		"N1,Claw hammer 300 g,Estwing,,14.00,EUR,1,Tools > Hammers,https://s1.example/n1,https://img.example/n1.jpg\n"
	s1b := strings.Replace(strings.Replace(s1a, ",12.00,", ",13.00,", 1), "Akku drill 18V,robert bosch", "Akku drill 18V,Bosch", 1)
	s2 := strings.Replace(feedS2, "Knife,Wüsthof", "Knife,WÜSTHOF", 1)
	step("two harvests in the window", true, 3, 1, [2]string{"s1", s1a}, [2]string{"s1", s1b}, [2]string{"s2", s2})
	// A first load in the window: any product of s3 may have changed.
	step("a first load in the window", false, 1, 0, [2]string{"s3", header +
		"Z1,Zange 200 mm,Knipex,,19.00,EUR,3,Tools > Pliers,https://s3.example/z1,https://img.example/z1.jpg\n"})
	s2 = strings.Replace(s2, ",30.00,", ",31.00,", 1)
	step("after it: a price", true, 0, 1, [2]string{"s2", s2})
	// The quality enricher reads the stock; none reads the product's URL.
	s2 = strings.Replace(strings.Replace(s2, ",31.00,EUR,1,", ",31.00,EUR,0,", 1), "https://s2.example/h1", "https://s2.example/h1?v=2", 1)
	step("a stock level and a URL", true, 1, 1, [2]string{"s2", s2})

	// Finish trimmed the log to the tenant's watermark (overlap 0s).
	var left int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM product_changes c WHERE c.tenant_id = 'logged'
		AND c.changed_at <= (SELECT min(last_seen_upto) FROM gardener_watermarks w WHERE w.tenant_id = 'logged')`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d log entries before the watermark left (%v)", left, err)
	}
}

// TestLoggedRunResumesAfterCrash SIGKILLs the worker in the middle of a
// logged run, starts another, and checks that the run resumed from its
// checkpoint in the log: every logged product enriched and counted once,
// in batches of exactly the batch size (each straddling entries of the log
// where it must).
func TestLoggedRunResumesAfterCrash(t *testing.T) {
	s := newStack(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seed := func(from, to int) {
		t.Helper()
		if _, err := s.db.Exec(ctx, `INSERT INTO products (tenant_id, supplier_code, sku, name, brand, gtin, price, currency, stock,
				availability, category_path, image_urls, content_hash, first_seen, last_seen, last_run_id)
			SELECT 'big', 's' || (i % 3), lpad(i::text, 7, '0'), 'Hammer ' || i || ' 500 g steel', 'ACME Tools', NULL, 10 + i % 7, 'EUR', i % 4,
				'in_stock', '{Tools,Hammers}', '{https://img.example/x.jpg}', md5(i::text), now(), now(), 'seed'
			FROM generate_series($1::int, $2::int) AS i`, from, to); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20000
	seed(n+1, n+10)
	cfgPath := s.crashConfig()
	first := startWorker(t, cfgPath, s.dsn)
	if rep := s.garden(gwf.Input{TenantID: "big"}); rep.Processed != 10 {
		t.Fatalf("first run: %+v", rep)
	}
	// n products changed since, logged as a merge logs them: per
	// supplier, in entries of at most 5,000, in no order.
	seed(1, n)
	if _, err := s.db.Exec(ctx, `INSERT INTO product_changes (tenant_id, supplier_code, changed_at, run_id, n, skus)
		SELECT 'big', supplier_code, now(), 'h', count(*), array_agg(sku ORDER BY md5(sku))
		FROM (SELECT supplier_code, sku, (row_number() OVER (PARTITION BY supplier_code ORDER BY md5(sku)) - 1) / 5000 AS chunk
			FROM products WHERE tenant_id = 'big' AND last_run_id = 'seed' AND sku <= $1) c
		GROUP BY supplier_code, chunk ORDER BY supplier_code, chunk`, fmt.Sprintf("%07d", n)); err != nil {
		t.Fatal(err)
	}

	run := s.startGardener(ctx, gwf.Input{TenantID: "big"})
	s.killWhenProcessed(ctx, first, `SELECT coalesce(max(processed), 0) FROM gardener_runs WHERE tenant_id = 'big' AND watermark_from IS NOT NULL`, n)

	startWorker(t, cfgPath, s.dsn)
	var rep gwf.Report
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("gardener after crash: %v", err)
	}
	if !s.changeLogged(rep.RunID) {
		t.Fatal("the run walked products: want it to read the change log")
	}
	if rep.Status != gwf.StatusSucceeded || rep.Processed != n || rep.Batches != n/200 {
		t.Fatalf("report %+v; want %d products in %d batches, each once", rep, n, n/200)
	}
	var brands, byRun int64
	if err := s.db.QueryRow(ctx, `SELECT count(DISTINCT (supplier_code, sku)), count(*) FILTER (WHERE run_id = $1 AND sku <= $2)
		FROM enrichments WHERE tenant_id = 'big' AND field = 'brand'`, rep.RunID, fmt.Sprintf("%07d", n)).Scan(&brands, &byRun); err != nil {
		t.Fatal(err)
	}
	if brands != n+10 || byRun != n {
		t.Fatalf("%d products have a brand (want %d), %d of the logged ones by the run (want %d)", brands, n+10, byRun, n)
	}
	again := s.garden(gwf.Input{TenantID: "big"})
	if again.Processed != 0 || again.Written != 0 || !s.changeLogged(again.RunID) {
		t.Fatalf("rerun after the crash: %+v (logged: %v); want nothing read, from the log", again, s.changeLogged(again.RunID))
	}
}
