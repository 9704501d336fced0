package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// goalSize is the catalogue size issue 15's goals are stated at.
const goalSize = 1_000_000

// goal is one of issue 15's goals, checked against one catalogue's
// figures of this run.
type goal struct {
	catalogue, what, figure string
	met                     bool
}

// goals checks issue 15's goals against the figures of every catalogue of
// at least goalSize products and of the user's own file (which the issue's
// author holds to the same goals): the gardener's where it ran, the
// harvest's on each server measured. stock is nil when the stock server
// was not measured; its figures follow tuned's, catalogue by catalogue.
func goals(tuned []Result, stock []StockResult) []goal {
	var out []goal
	add := func(c, what, figure string, met bool) { out = append(out, goal{c, what, figure, met}) }
	for i, r := range tuned {
		if r.Products < goalSize && !r.Own {
			continue
		}
		if g := r.Gardener; g != nil {
			rate := float64(g.FullReport.Processed) / g.Full.Seconds()
			add(r.Label, "gardener full run ≥ 50,000 products/s", fmt.Sprintf("%.0f/s", rate), rate >= 50_000)
			ratio := g.Full.Seconds() / g.Copy.Seconds()
			add(r.Label, "gardener full run ≤ 3x the psql \\copy of its rows (aim)", fmt.Sprintf("%.2fx", ratio), ratio <= 3)
			for _, inc := range []struct {
				what string
				r    Incremental
			}{{"names", g.Incremental}, {"prices", g.Prices}} {
				if len(inc.r.Runs) == 0 {
					continue
				}
				share := inc.r.Median.Seconds() / g.Full.Seconds()
				add(r.Label, "gardener incremental ("+inc.what+") ≤ 15% of the full run", fmt.Sprintf("%.1f%%", 100*share), share <= 0.15)
			}
			rerun := g.RerunReport.Written + g.RerunReport.Deleted + g.RerunReport.Finalized
			add(r.Label, "gardener rerun with nothing changed writes nothing", fmt.Sprintf("%d rows", rerun), rerun == 0)
			add(r.Label, "worker peak RSS < 200 MiB (gardener, harvest included)", fmt.Sprintf("%.0f MiB", float64(g.PeakRSS)/(1<<20)), g.PeakRSS < 200<<20)
		}
		servers := []struct {
			name  string
			f     figures
			limit float64
		}{{"tuned", r.figures, 1.5}}
		if i < len(stock) {
			servers = append(servers, struct {
				name  string
				f     figures
				limit float64
			}{"stock", stock[i].figures, 2.0})
		}
		for _, s := range servers {
			add(r.Label, fmt.Sprintf("first load ≤ %.1fx copy, %s server", s.limit, s.name), fmt.Sprintf("%.2fx%s", s.f.HarvestRatio, runsOf(s.f.HarvestRatios, s.f.WarmupHarvest)), s.f.HarvestRatio <= s.limit)
			add(r.Label, "unchanged re-harvest ≤ 0.75x copy, 0 rows written, "+s.name+" server",
				fmt.Sprintf("%.2fx%s, %d rows", s.f.RehearvestRatio, runsOf(s.f.RehearvestRatios, s.f.WarmupRehearvest), s.f.RewriteRows), s.f.RehearvestRatio <= 0.75 && s.f.RewriteRows == 0)
		}
	}
	return out
}

// runsOf lists the runs behind a median ratio, " (runs 1.55x 1.45x
// 1.65x)", or "" for a single run: the goals' medians come from runs that
// scatter by a tenth on this machine. A warm-up ratio (0: none) goes in
// front, " (warm-up 2.10x; runs ...)": it is not in the median, but shown.
func runsOf(ratios []float64, warmup float64) string {
	var s string
	if warmup > 0 {
		s = fmt.Sprintf("warm-up %.2fx", warmup)
	}
	if len(ratios) > 1 {
		if s != "" {
			s += "; "
		}
		s += "runs"
		for _, r := range ratios {
			s += fmt.Sprintf(" %.2fx", r)
		}
	}
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// printGoals prints goals' checklist, with machine (damonNote's line, if
// any) below it: what on this machine moves the figures.
func printGoals(w io.Writer, tuned []Result, stock []StockResult, machine string) {
	gs := goals(tuned, stock)
	if len(gs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n=== issue 15's goals, checked against this run's figures above (at %d products, and your own -feed catalogue) ===\n", goalSize)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range gs {
		verdict := "met"
		if !g.met {
			verdict = "NOT MET"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.catalogue, g.what, g.figure, verdict)
	}
	tw.Flush()
	for _, r := range tuned {
		if r.Own && r.Products < goalSize {
			fmt.Fprintf(w, "(%s has %d products: below %d, a run's fixed costs weigh more in every ratio)\n", r.Label, r.Products, goalSize)
		}
	}
	if stock == nil {
		fmt.Fprintln(w, "(the stock server was not measured: run with -stock)")
	}
	if machine != "" {
		fmt.Fprintf(w, "(%s)\n", machine)
	}
}
