package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"contextworker/workflows/gardener"
)

// TestGoals: the checklist holds each figure to its goal, marks a missed
// one NOT MET, leaves out generated sizes below 1M but not the user's own
// catalogue, and pairs the stock figures with their catalogue.
func TestGoals(t *testing.T) {
	s := time.Second
	g := &GardenerResult{Full: 17 * s, FullReport: gardener.Report{Totals: gardener.Totals{Processed: 1_000_000}}, Copy: 8 * s,
		Incremental: Incremental{Runs: []time.Duration{2 * s}, Median: 2 * s},
		Prices:      Incremental{Runs: []time.Duration{3 * s}, Median: 3 * s}, // 17.6%: missed
		RerunReport: gardener.Report{}, PeakRSS: 188 << 20}
	tuned := []Result{
		{Label: "100000", figures: figures{Products: 100_000, HarvestRatio: 9}},
		{Label: "1000000", figures: figures{Products: 1_000_000, HarvestRatio: 1.68, RehearvestRatio: 0.67,
			HarvestRatios: []float64{1.68, 1.49, 1.7}, RehearvestRatios: []float64{0.67, 0.61, 0.7}}, Gardener: g},
		{Label: "own.csv", Own: true, figures: figures{Products: 50_000, HarvestRatio: 1.4, RehearvestRatio: 0.7, RewriteRows: 3}},
	}
	stock := []StockResult{
		{Label: "100000", figures: figures{HarvestRatio: 9}},
		{Label: "1000000", figures: figures{HarvestRatio: 1.85, RehearvestRatio: 0.6, WarmupHarvest: 2.61,
			HarvestRatios: []float64{1.85, 1.8, 1.9}}},
		{Label: "own.csv", figures: figures{HarvestRatio: 2.2, RehearvestRatio: 0.5}},
	}
	var got []string
	for _, g := range goals(tuned, stock) {
		v := "met"
		if !g.met {
			v = "NOT MET"
		}
		got = append(got, g.catalogue+" | "+g.what+" | "+g.figure+" | "+v)
	}
	want := []string{
		"1000000 | gardener full run ≥ 50,000 products/s | 58824/s | met",
		"1000000 | gardener full run ≤ 3x the psql \\copy of its rows (aim) | 2.12x | met",
		"1000000 | gardener incremental (names) ≤ 15% of the full run | 11.8% | met",
		"1000000 | gardener incremental (prices) ≤ 15% of the full run | 17.6% | NOT MET",
		"1000000 | gardener rerun with nothing changed writes nothing | 0 rows | met",
		"1000000 | worker peak RSS < 200 MiB (gardener, harvest included) | 188 MiB | met",
		"1000000 | first load ≤ 1.5x copy, tuned server | 1.68x (runs 1.68x 1.49x 1.70x) | NOT MET",
		"1000000 | unchanged re-harvest ≤ 0.75x copy, 0 rows written, tuned server | 0.67x (runs 0.67x 0.61x 0.70x), 0 rows | met",
		"1000000 | first load ≤ 2.0x copy, stock server | 1.85x (warm-up 2.61x; runs 1.85x 1.80x 1.90x) | met",
		"1000000 | unchanged re-harvest ≤ 0.75x copy, 0 rows written, stock server | 0.60x, 0 rows | met",
		"own.csv | first load ≤ 1.5x copy, tuned server | 1.40x | met",
		"own.csv | unchanged re-harvest ≤ 0.75x copy, 0 rows written, tuned server | 0.70x, 3 rows | NOT MET",
		"own.csv | first load ≤ 2.0x copy, stock server | 2.20x | NOT MET",
		"own.csv | unchanged re-harvest ≤ 0.75x copy, 0 rows written, stock server | 0.50x, 0 rows | met",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("goals:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var out bytes.Buffer
	printGoals(&out, tuned[:1], nil, "")
	if out.Len() != 0 {
		t.Errorf("a run without a 1M catalogue printed goals:\n%s", out.String())
	}
	printGoals(&out, tuned, nil, "")
	if !strings.Contains(out.String(), "NOT MET") || !strings.Contains(out.String(), "run with -stock") {
		t.Errorf("checklist without the stock server:\n%s", out.String())
	}
	if strings.Contains(out.String(), "DAMON") {
		t.Errorf("a machine without DAMON pageout got a note about it:\n%s", out.String())
	}
	out.Reset()
	printGoals(&out, tuned, nil, "pages out memory idle for 1m0s (DAMON pageout)")
	if !strings.HasSuffix(out.String(), "(pages out memory idle for 1m0s (DAMON pageout))\n") {
		t.Errorf("the machine's note is not the checklist's last line:\n%s", out.String())
	}
}

// TestLoaderRuns: with a warm-up the loader makes one run more, names it
// apart, and numbers the timed runs from 1.
func TestLoaderRuns(t *testing.T) {
	l := loader{runs: 3, warmup: true}
	var got []string
	for i := range l.runsOf() {
		got = append(got, l.nth(i))
	}
	if want := "warm-up (not counted),1/3,2/3,3/3"; strings.Join(got, ",") != want {
		t.Errorf("with a warm-up: %q, want %q", strings.Join(got, ","), want)
	}
	l.warmup, got = false, nil
	for i := range l.runsOf() {
		got = append(got, l.nth(i))
	}
	if want := "1/3,2/3,3/3"; strings.Join(got, ",") != want {
		t.Errorf("without: %q, want %q", strings.Join(got, ","), want)
	}
}
