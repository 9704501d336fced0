package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"contextworker/internal/dev/localpg"
	"contextworker/internal/pg"
)

// StockResult is one size's harvest figures on a server with PostgreSQL's
// default settings.
type StockResult struct {
	Label string
	figures
	SharedBuffers string
}

type stockRun struct {
	root, dir, cfgPath string
	tc                 client.Client
	cats               []catalogue
	say                func(string, ...any)
	runs               int // first loads and unchanged re-harvests of each
	warmup             bool
}

// runStock starts (or reuses) the cluster in .data/bench/pg-stock with
// PostgreSQL's defaults, a fresh database and a worker on it, and
// times each catalogue's first loads and unchanged re-harvests (s.runs of
// each), each run after a COPY of the file, as Run does on the tuned server.
func runStock(ctx context.Context, s stockRun) ([]StockResult, error) {
	cluster, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(s.dir, "pg-stock")})
	if err != nil {
		return nil, err
	}
	defer cluster.Stop(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
	admin, err := pg.Connect(ctx, cluster.DSN("postgres"), 1, time.Minute, nil)
	if err != nil {
		return nil, err
	}
	var shared string
	// A stock server: whatever ALTER SYSTEM set by hand goes (settings that
	// need a restart would show in shared_buffers below).
	_, err = admin.Exec(ctx, `ALTER SYSTEM RESET ALL`)
	if err == nil {
		_, err = admin.Exec(ctx, `SELECT pg_reload_conf()`)
	}
	if err == nil {
		err = admin.QueryRow(ctx, `SHOW shared_buffers`).Scan(&shared)
	}
	if err == nil {
		_, err = admin.Exec(ctx, `DROP DATABASE IF EXISTS bench WITH (FORCE)`)
	}
	admin.Close()
	if err != nil {
		return nil, err
	}
	if err := cluster.CreateDatabase(ctx, "bench"); err != nil {
		return nil, err
	}
	dsn := cluster.DSN("bench")
	db, err := pg.Connect(ctx, dsn, 4, time.Minute, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := pg.Migrate(ctx, db, nil); err != nil {
		return nil, err
	}
	s.say("stock PostgreSQL (default settings, shared_buffers %s) on port %d", shared, cluster.Port())
	worker, stopWorker, err := startWorker(s.root, s.cfgPath, dsn, filepath.Join(s.dir, "worker-stock.log"))
	if err != nil {
		return nil, err
	}
	defer stopWorker()
	meter := cpuMeter{pgDir: cluster.Dir(), worker: worker.Process.Pid}

	var out []StockResult
	for _, c := range s.cats {
		r := StockResult{Label: c.label, SharedBuffers: shared}
		loads := loader{tc: s.tc, db: db, dsn: dsn, meter: meter, say: s.say, runs: s.runs, warmup: s.warmup}
		first, firstWarmup, err := loads.firstLoads(ctx, c, " on stock")
		if err != nil {
			return nil, err
		}
		if err := loads.settle(ctx, c, " on stock"); err != nil {
			return nil, err
		}
		again, againWarmup, written, err := loads.unchanged(ctx, c, " on stock")
		if err != nil {
			return nil, err
		}
		r.figures = figuresOf(first, again, firstWarmup, againWarmup, written)
		out = append(out, r)
	}
	return out, nil
}

func printStock(w io.Writer, tuned []Result, stock []StockResult) {
	fmt.Fprintln(w, "\n=== harvest on both servers (vs copy: the median of each run's ratio to the psql \\copy of the same file run on that server just before it) ===")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "feed\tserver\tpsql \\copy\tharvest\tvs copy\tre-harvest\tvs copy\trows written\t")
	for i, s := range stock {
		if i < len(tuned) {
			t := tuned[i]
			fmt.Fprintf(tw, "%s\ttuned\t%s\t%s\t%.2fx\t%s\t%.2fx\t%d\t\n", t.Label, t.Copy.Round(time.Millisecond),
				t.Harvest.Round(time.Millisecond), t.HarvestRatio, t.Rehearvest.Round(time.Millisecond), t.RehearvestRatio, t.RewriteRows)
		}
		fmt.Fprintf(tw, "%s\tstock\t%s\t%s\t%.2fx\t%s\t%.2fx\t%d\t\n", s.Label, s.Copy.Round(time.Millisecond),
			s.Harvest.Round(time.Millisecond), s.HarvestRatio, s.Rehearvest.Round(time.Millisecond), s.RehearvestRatio, s.RewriteRows)
	}
	tw.Flush()
	fmt.Fprintf(w, "psql \\copy: the median of the first loads' COPYs; harvest and re-harvest: medians of %d runs; each run started on a checkpointed server\n", len(stock[0].HarvestRatios))
	fmt.Fprintln(w, "(a stock first load of 1M writes about 0.5 GB of WAL, just under the 0.53 GB after which stock settings start a checkpoint)")
	fmt.Fprintln(w, "goals (issue 15): first load ≤ 1.5x copy tuned, ≤ 2.0x stock; unchanged re-harvest ≤ 0.75x copy on both, 0 rows written")
}
