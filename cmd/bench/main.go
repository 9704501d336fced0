// Command bench is `make bench`: end-to-end harvest figures on this machine.
// See package contextworker/internal/dev/bench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"contextworker/internal/dev/bench"
)

func main() {
	sizes := flag.String("sizes", "100000,1000000", "comma-separated feed sizes")
	gardenerSizes := flag.String("gardener-sizes", "100000,1000000", "sizes whose catalogue the gardener enriches too (\"\" for none)")
	stock := flag.Bool("stock", false, "also harvest each size on a second server with PostgreSQL's default settings")
	oneTenant := flag.Bool("one-tenant", false, "put every size's supplier in one tenant, so the gardener groups the products they share")
	huge := flag.Bool("huge-pages", true, "reserve huge pages (vm.nr_hugepages, as root) for the tuned server's shared memory during the run, and give them back at exit")
	warmup := flag.Bool("warmup", true, "before the timed runs of each catalogue on each server, one untimed first load and one re-harvest (printed, not in the medians)")
	runs := flag.Int("runs", 3, "first loads, and unchanged re-harvests, of each catalogue on each server (each figure is their median)")
	incrementalRuns := flag.Int("incremental-runs", 1, "incremental gardener runs at each gardener size, each after a re-harvest changing a tenth of the products (the figure is their median)")
	perfControl := flag.String("perf-control", "", "the control `FIFO` of a perf record --control fifo:FIFO -D -1, enabled for the incremental gardener runs alone")
	feed := flag.String("feed", "", "a catalogue `file` of your own to harvest too (after the sizes; -sizes '' for it alone), beside its own psql \\copy")
	feedInput := flag.String("feed-input", "", `the harvest workflow's JSON input for -feed, e.g. '{"format":"csv","delimiter":";","mapping":{"sku":"id"}}'`)
	feedChanged := flag.String("feed-changed", "", "a changed version of -feed `file`, for the gardener's incremental runs")
	feedGardener := flag.Bool("feed-gardener", false, "enrich -feed with the gardener too (full run, incremental runs with -feed-changed, rerun)")
	var gardenerSet, harvestSet []string
	setting := func(to *[]string) func(string) error {
		return func(s string) error {
			if strings.ContainsAny(s, "\n") || !strings.Contains(s, ":") {
				return fmt.Errorf("want one line of key: value, got %q", s)
			}
			*to = append(*to, "    "+s+"\n")
			return nil
		}
	}
	flag.Func("gardener-set", "a setting of the worker's modules.gardener, as `key: value` (repeatable), to compare settings", setting(&gardenerSet))
	flag.Func("harvest-set", "a setting of the worker's modules.harvest, as `key: value` (repeatable), to compare settings", setting(&harvestSet))
	flag.Parse()
	o := bench.Options{Out: os.Stdout, Sizes: parseSizes(*sizes), GardenerSizes: parseSizes(*gardenerSizes), Stock: *stock,
		GardenerConfig: strings.Join(gardenerSet, ""), HarvestConfig: strings.Join(harvestSet, ""), OneTenant: *oneTenant,
		IncrementalRuns: *incrementalRuns, PerfControl: *perfControl, Runs: *runs, NoWarmup: !*warmup, HugePages: *huge,
		Feed: *feed, FeedInput: *feedInput, FeedChanged: *feedChanged, FeedGardener: *feedGardener}
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	o.Root = root
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseSizes(list string) []int {
	var out []int
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: bad size %q\n", s)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}
