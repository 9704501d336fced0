package enrich_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	_ "contextworker/modules/gardener/enrich/all"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/enrichtest"
)

var update = flag.Bool("update", false, "rewrite testdata/digests.json from the current code")

// pipelineConfig is every built-in enricher that needs no service (llm
// does), with options that reach the paths the defaults leave out.
const pipelineConfig = `
- name: category
  config:
    taxonomy: ["Electronics > Phones", "Electronics > Computers > Laptops", "Home > Kitchen > Cookware",
      "Home > Kitchen > Coffee Makers", "Sports > Bikes", "Sports > Running Shoes", "Fashion > Shoes",
      "Fashion > Jackets", "Toys > Board Games", "Toys > Building Sets"]
    rules: [{prefix: "Home & Kitchen > Lighting", category: "Home > Kitchen > Cookware"}, {regex: "(?i)outdoor", category: "Sports > Bikes"}]
- name: brand
  config: {case: title, aliases: {Bosch: [Robert Bosch, BOSCH Professional], Müller: [Mueller]}}
- name: attributes
- name: duplicates
  config: {by_gtin: true, by_brand_name: true, min_members: 2}
- name: quality
`

// defaultConfig is the gardener's default enrichers, as the benchmark runs
// them.
const defaultConfig = `[{name: brand}, {name: attributes}, {name: duplicates}, {name: quality}]`

func pipeline(t testing.TB, src string) *enrich.Pipeline {
	t.Helper()
	var specs []enrich.Spec
	if err := yaml.Unmarshal([]byte(src), &specs); err != nil {
		t.Fatal(err)
	}
	p, err := enrich.Default().Build(specs, enrich.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// products returns n generated products, some with oddities.
func products(t testing.TB, n int) []*enrich.Product {
	t.Helper()
	ps, err := enrichtest.Products(n, 7)
	if err != nil {
		t.Fatal(err)
	}
	enrichtest.AddOddities(ps)
	return ps
}

// digest writes everything a run produced into h, in a fixed order.
func digest(h hash.Hash, batch []*enrich.Product, out enrich.Outcome) {
	for i, p := range batch {
		for _, r := range p.Results() {
			fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\x00%s\n", i, r.Field, r.Value, r.Enricher, r.Version)
		}
	}
	ran := slices.Clone(out.Ran)
	slices.SortFunc(ran, func(a, b enrich.Ran) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Enricher, b.Enricher))
	})
	for _, r := range ran {
		fmt.Fprintf(h, "ran %d %s\n", r.Index, r.Enricher)
	}
	tallies := make([]string, 0, len(out.Tallies))
	for t, n := range out.Tallies {
		tallies = append(tallies, fmt.Sprintf("tally %s\x00%s\x00%d\n", t.Name, t.Key, n))
	}
	slices.Sort(tallies)
	marks := make([]string, 0, len(out.Marks))
	for _, m := range out.Marks {
		marks = append(marks, fmt.Sprintf("mark %s\x00%s\n", m.Name, m.Key))
	}
	slices.Sort(marks)
	fmt.Fprint(h, strings.Join(tallies, ""), strings.Join(marks, ""))
}

// runDigest runs the pipeline over products in batches of 5,000 split in
// two, as the gardener does, then again as a sparse run over what the
// first stored (a later now: stock at zero is read back), and returns the
// digest of both.
func runDigest(t testing.TB, src string, ps []*enrich.Product) string {
	t.Helper()
	pl := pipeline(t, src)
	h := sha256.New()
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for lo := 0; lo < len(ps); lo += 5000 {
		batch := ps[lo:min(lo+5000, len(ps))]
		out, err := pl.RunSplit(context.Background(), enrich.Run{ID: "r1", TenantID: "t", Now: now}, batch, nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		digest(h, batch, out)
	}
	// The second run reads back what the first produced.
	again := make([]*enrich.Product, len(ps))
	for i, p := range ps {
		q := *p
		q.Stored = make(map[string]json.RawMessage)
		for _, r := range p.Results() {
			q.Stored[r.Field] = r.Value
		}
		q.Changed = i%3 == 0
		// Half the changed products came back (reactivated) in the window.
		q.Activated = i%6 == 0
		enrich.ResetForTest(&q)
		again[i] = &q
	}
	out, err := pl.Run(context.Background(), enrich.Run{ID: "r2", TenantID: "t", Now: now.Add(48 * time.Hour), Sparse: true},
		again, []string{"quality"})
	if err != nil {
		t.Fatal(err)
	}
	digest(h, again, out)
	return hex.EncodeToString(h.Sum(nil))
}

// TestPipelineDigests: the enrichers produce, byte for byte, what they
// produced when the digests were recorded. A change in a value, its
// spelling or its order changes a digest: rewriting an enricher for speed
// must leave them all as they are (a change of results needs a version
// bump, and then -update).
func TestPipelineDigests(t *testing.T) {
	n := 30000
	if testing.Short() {
		n = 6000
	}
	got := map[string]string{}
	for name, src := range map[string]string{"default": defaultConfig, "all": pipelineConfig} {
		got[fmt.Sprintf("%s/%d", name, n)] = runDigest(t, src, products(t, n))
	}
	const path = "testdata/digests.json"
	if *update {
		old := map[string]string{}
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &old)
		}
		for k, v := range got {
			old[k] = v
		}
		b, _ := json.MarshalIndent(old, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		if want[k] != v {
			t.Errorf("%s: digest %s, recorded %s: the enrichers' results changed", k, v, want[k])
		}
	}
}

// BenchmarkPipeline runs the gardener's default enrichers over a batch of
// 5,000 generated products, as one part of a split batch does.
func BenchmarkPipeline(b *testing.B) {
	pl := pipeline(b, defaultConfig)
	ps, err := enrichtest.Products(5000, 1) // the benchmark's feed, without oddities
	if err != nil {
		b.Fatal(err)
	}
	run := enrich.Run{ID: "r", TenantID: "t", Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		for _, p := range ps {
			enrich.ResetForTest(p)
		}
		if _, err := pl.Run(context.Background(), run, ps, nil); err != nil {
			b.Fatal(err)
		}
	}
	// The machine is shared: the process's CPU time (the garbage
	// collector's included) says more than the time elapsed.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*len(ps)), "cpu-ns/product")
}

// cpuTime returns the CPU time the process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
