package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	gardener "contextworker/workflows/gardener"
)

// GardenerResult is the gardener's figures at one size: a full run over
// the harvested catalogue, the COPY of its rows, incremental runs after
// re-harvests that changed a tenth of the products, and a rerun with
// nothing changed.
type GardenerResult struct {
	Full       time.Duration
	FullReport gardener.Report
	// Rows is the number of enrichment rows the supplier has after the
	// full run; Copy loads a file of those rows with psql \copy (median of
	// three), the physical limit the full run is measured against.
	Rows int64
	Copy time.Duration
	// Incremental is after re-harvests that changed the products' names
	// and prices (enrichers read names: the goal's figure), Prices after
	// re-harvests that changed their prices alone (no enricher reads
	// them: the products are skipped).
	Incremental, Prices Incremental
	Rerun               time.Duration
	RerunReport         gardener.Report
	// Phases says where the full run's time went.
	Phases  string
	PeakRSS int64
}

// Incremental is one kind of change's incremental runs.
type Incremental struct {
	// What changed in the products the re-harvests changed.
	What string
	// Median is the median of Runs (in order: see Options.IncrementalRuns;
	// of an even number, the lower of the middle two), and Changed (the
	// products the re-harvest changed) and Report are that run's.
	Median  time.Duration
	Runs    []time.Duration
	Changed int64
	Report  gardener.Report
}

type gardenerBench struct {
	tc    client.Client
	db    *pgxpool.Pool
	dsn   string
	dir   string
	cat   catalogue
	say   func(string, ...any)
	meter cpuMeter
	// runs is the number of incremental runs (at least 1); perf, when
	// set, is a perf record --control fifo that profiles them alone.
	runs int
	perf string
}

func (g *gardenerBench) run(ctx context.Context) (*GardenerResult, error) {
	r := &GardenerResult{}
	// Each timed run and COPY starts quiesced, as the harvests do (see
	// loader.quiesce).
	err := quiesce(ctx, g.db)
	if err != nil {
		return nil, err
	}
	c0, b0 := g.meter.sample(), background(ctx, g.db)
	if r.Full, r.FullReport, err = g.garden(ctx, true); err != nil {
		return nil, err
	}
	r.Phases = gardenerPhases(ctx, g.db, r.FullReport.RunID)
	g.say("%s: gardener (full, llm off) %s: %d processed, %d written%s%s%s", g.cat.label, r.Full.Round(time.Millisecond),
		r.FullReport.Processed, r.FullReport.Written, r.Phases, cpuOf(g.meter, c0), backgroundOf(ctx, g.db, b0))
	if r.Rows, r.Copy, err = g.copyRows(ctx); err != nil {
		return nil, err
	}

	// A tenth of the products get another name and price: a re-harvest
	// writes them, and the next incremental run enriches them alone.
	// Further runs harvest the original feed and the changed one in turn,
	// each changing the same tenth back or again. Then the same with
	// prices alone, from the original feed again. A user's file has the
	// changed version given with it, if any.
	outs := []*Incremental{&r.Incremental, &r.Prices}
	for i, ch := range g.cat.changes[:min(len(g.cat.changes), len(outs))] {
		if i > 0 {
			if _, _, err := harvest(ctx, g.tc, g.cat.harvestOf(g.cat.url)); err != nil {
				return nil, err
			}
			if _, _, err := g.garden(ctx, false); err != nil {
				return nil, err
			}
		}
		if *outs[i], err = g.incremental(ctx, ch); err != nil {
			return nil, err
		}
	}
	if err := quiesce(ctx, g.db); err != nil {
		return nil, err
	}
	if r.Rerun, r.RerunReport, err = g.garden(ctx, false); err != nil {
		return nil, err
	}
	g.say("%s: gardener rerun with nothing changed %s: %d processed, %d written", g.cat.label, r.Rerun.Round(time.Millisecond),
		r.RerunReport.Processed, r.RerunReport.Written+r.RerunReport.Deleted+r.RerunReport.Finalized)
	// The original feed again, so a later size starts from the bench's
	// catalogue as the harvest figures describe it.
	_, _, err = harvest(ctx, g.tc, g.cat.harvestOf(g.cat.url))
	return r, err
}

// incremental harvests the changed feed and the original one in turn,
// with an incremental gardener run after each.
func (g *gardenerBench) incremental(ctx context.Context, ch change) (Incremental, error) {
	r := Incremental{What: ch.what}
	feeds := []string{ch.url, g.cat.url}
	var changed []int64
	var reports []gardener.Report
	for i := range max(g.runs, 1) {
		_, rep, err := harvest(ctx, g.tc, g.cat.harvestOf(feeds[i%2]))
		if err != nil {
			return r, err
		}
		if err := quiesce(ctx, g.db); err != nil {
			return r, err
		}
		c0, b0 := g.meter.sample(), background(ctx, g.db)
		g.profile("enable")
		took, report, err := g.garden(ctx, false)
		g.profile("disable")
		if err != nil {
			return r, err
		}
		changed, reports = append(changed, rep.Updated), append(reports, report)
		r.Runs = append(r.Runs, took)
		g.say("%s: gardener after %d products' %s changed %s: %d processed, %d skipped, %d written, %d removed%s%s%s", g.cat.label, rep.Updated,
			ch.what, took.Round(time.Millisecond), report.Processed, report.Skipped, report.Written, report.Deleted,
			gardenerPhases(ctx, g.db, report.RunID), cpuOf(g.meter, c0), backgroundOf(ctx, g.db, b0))
	}
	order := make([]int, len(r.Runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(r.Runs[a], r.Runs[b]) })
	m := order[(len(order)-1)/2]
	r.Median, r.Changed, r.Report = r.Runs[m], changed[m], reports[m]
	return r, nil
}

// profile writes a command (enable, disable) to the control fifo of a
// perf record started with --control fifo:PATH -D -1, so that it samples
// the incremental runs alone; a bench without one ignores it.
func (g *gardenerBench) profile(cmd string) {
	if g.perf == "" {
		return
	}
	// Not blocking: without perf reading the fifo, the open fails (ENXIO)
	// instead of waiting for a reader for ever.
	f, err := os.OpenFile(g.perf, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		g.say("perf control %s: %v", g.perf, err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, cmd); err != nil {
		g.say("perf control %s: %v", g.perf, err)
	}
}

func (g *gardenerBench) garden(ctx context.Context, full bool) (time.Duration, gardener.Report, error) {
	in := gardener.Input{TenantID: g.cat.input.TenantID, SupplierCode: g.cat.supplier, Full: full}
	start := time.Now()
	run, err := g.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: gardener.WorkflowID(in.TenantID), TaskQueue: gardener.TaskQueue}, gardener.WorkflowName, in)
	if err != nil {
		return 0, gardener.Report{}, err
	}
	var rep gardener.Report
	if err := run.Get(ctx, &rep); err != nil {
		return 0, rep, fmt.Errorf("gardener %s: %w", g.cat.supplier, err)
	}
	return time.Since(start), rep, nil
}

// copyRows writes the supplier's enrichment rows to a file and loads it
// with psql \copy into a table of the same columns, without indexes: the
// same rows, as fast as PostgreSQL takes them.
func (g *gardenerBench) copyRows(ctx context.Context) (int64, time.Duration, error) {
	path := filepath.Join(g.dir, fmt.Sprintf("enrichments-%s.copy", g.cat.supplier))
	tenant := g.cat.input.TenantID
	var rows int64
	if err := g.db.QueryRow(ctx, `SELECT count(*) FROM enrichments WHERE tenant_id = $1 AND supplier_code = $2`, tenant, g.cat.supplier).Scan(&rows); err != nil {
		return 0, 0, fmt.Errorf("gardener copy baseline: %w", err)
	}
	if err := psql(ctx, g.dsn, fmt.Sprintf(`\copy (SELECT * FROM enrichments WHERE tenant_id = %s AND supplier_code = %s) TO '%s'`, literal(tenant), literal(g.cat.supplier), path)); err != nil {
		return 0, 0, fmt.Errorf("gardener copy baseline: %w", err)
	}
	var copies []time.Duration
	for range 3 {
		if err := quiesce(ctx, g.db); err != nil {
			return 0, 0, err
		}
		d, err := psqlCopy(ctx, g.dsn, "CREATE TABLE bench_copy (LIKE enrichments)", literal(path), "FORMAT text")
		if err != nil {
			return 0, 0, err
		}
		copies = append(copies, d)
	}
	slices.Sort(copies)
	g.say("%s: psql \\copy of the %d enrichment rows %s (median of %v)", g.cat.label, rows, copies[1].Round(time.Millisecond), roundAll(copies))
	return rows, copies[1], nil
}

// gardenerPhases reads where a run's time went from its gardener_runs row:
// finalized_at is now() of the finalizing transaction, so when it began.
func gardenerPhases(ctx context.Context, db *pgxpool.Pool, runID string) string {
	var batches, finalize float64
	var enrichMS, writeMS int64
	err := db.QueryRow(ctx, `SELECT extract(epoch FROM finalized_at - started_at)::float8, extract(epoch FROM finished_at - finalized_at)::float8,
			enrich_ms, write_ms
		FROM gardener_runs WHERE run_id = $1`, runID).Scan(&batches, &finalize, &enrichMS, &writeMS)
	if err != nil {
		return fmt.Sprintf(" (phases: %v)", err)
	}
	return fmt.Sprintf(": begin+batches %.2fs (enrichers %.2fs, writes %.2fs, overlapping), finalize+finish %.2fs",
		batches, float64(enrichMS)/1000, float64(writeMS)/1000, finalize)
}

func printGardener(w io.Writer, rs []Result) {
	shown := false
	for _, r := range rs {
		g := r.Gardener
		if g == nil {
			continue
		}
		shown = true
		fmt.Fprintf(w, "\n=== gardener on %s (%d products; llm off, this machine, one run) ===\n", r.Label, r.Products)
		fmt.Fprintf(w, "full run:     %s, %.0f products/s, %d rows written; psql \\copy of its %d rows %s: %.2fx copy\n",
			g.Full.Round(time.Millisecond), float64(g.FullReport.Processed)/g.Full.Seconds(), g.FullReport.Written+g.FullReport.Finalized,
			g.Rows, g.Copy.Round(time.Millisecond), g.Full.Seconds()/g.Copy.Seconds())
		for _, inc := range []struct {
			label string
			r     Incremental
		}{{"incremental: ", g.Incremental}, {"  (prices:)  ", g.Prices}} {
			if len(inc.r.Runs) == 0 {
				if inc.label == "incremental: " {
					fmt.Fprintf(w, "%s not measured (no changed feed: -feed-changed)\n", inc.label)
				}
				continue
			}
			runs := ""
			if len(inc.r.Runs) > 1 {
				runs = fmt.Sprintf(" (median of %v)", roundAll(inc.r.Runs))
			}
			fmt.Fprintf(w, "%s %s%s after a re-harvest changed %d products' %s: %d processed, %d skipped, %d written, %d removed; %.1f%% of the full run\n",
				inc.label, inc.r.Median.Round(time.Millisecond), runs, inc.r.Changed, inc.r.What, inc.r.Report.Processed, inc.r.Report.Skipped,
				inc.r.Report.Written+inc.r.Report.Finalized, inc.r.Report.Deleted, 100*inc.r.Median.Seconds()/g.Full.Seconds())
		}
		fmt.Fprintf(w, "rerun:        %s with nothing changed: %d processed, %d rows written\n",
			g.Rerun.Round(time.Millisecond), g.RerunReport.Processed, g.RerunReport.Written+g.RerunReport.Deleted+g.RerunReport.Finalized)
		fmt.Fprintf(w, "worker peak RSS %.0f MiB (harvest included)\n", float64(g.PeakRSS)/(1<<20))
	}
	if !shown {
		return
	}
	fmt.Fprintln(w, "goals: full run ≥ 50,000 products/s at 1M and ≤ 3x its copy, incremental (names and prices) ≤ 15% of the full run, rerun writes nothing, worker RSS < 200 MiB")
}
