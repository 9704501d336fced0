package all_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
	_ "contextworker/modules/gardener/enrich/all"
	"contextworker/modules/gardener/enrich/enrichtest"
)

// builtIns are the built-in enrichers that run without a service (llm's
// inputs are checked in its package), category with a small taxonomy.
const builtIns = `
- name: brand
- name: attributes
- name: duplicates
- name: duplicates
  config: {by_brand_name: true}
- name: duplicates
  config: {by_gtin: false, by_brand_name: true}
- name: quality
- name: category
  config:
    taxonomy: ["Toys > Board Games", "Toys > Building Sets", "Home > Kitchen", "Electronics > Phones"]
    fuzzy_threshold: 0.6
`

// TestInputsAreAllThatIsRead checks what an incremental run relies on to
// skip a product: changing a column an enricher does not declare (a new
// price, say) changes nothing it produces, tallies or marks, for a product
// that became active in the window and for one that did not.
func TestInputsAreAllThatIsRead(t *testing.T) {
	var specs []enrich.Spec
	if err := yaml.Unmarshal([]byte(builtIns), &specs); err != nil {
		t.Fatal(err)
	}
	for i, spec := range specs {
		t.Run(fmt.Sprint(i, "-", spec.Name), func(t *testing.T) {
			pl, err := enrich.Default().Build([]enrich.Spec{spec}, enrich.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			inputs := pl.Inputs()
			if inputs == prodfields.All {
				t.Fatalf("%s declares no inputs: every change re-enriches with it", spec.Name)
			}
			for _, bad := range undeclaredReads(t, pl) {
				t.Errorf("%s declares %s, but its results change with %s", spec.Name, inputs, bad)
			}
		})
	}
}

// TestUndeclaredReadsAreFound is the check's own control: an enricher that
// reads the price but declares the name alone is caught.
func TestUndeclaredReadsAreFound(t *testing.T) {
	pl := enrich.NewPipeline(enrich.Step{Name: "liar", Version: "1", Enricher: liar{}})
	bad := undeclaredReads(t, pl)
	if !slices.Contains(bad, prodfields.Price.String()) {
		t.Fatalf("undeclared reads %v, want price among them", bad)
	}
	if slices.Contains(bad, prodfields.Name.String()) {
		t.Fatalf("undeclared reads %v: the name is declared", bad)
	}
}

type liar struct{}

func (liar) Inputs() prodfields.Set { return prodfields.Name }

func (liar) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	for _, p := range batch {
		out.Set(p, "liar.band", map[string]any{"name": p.Name, "cheap": p.Price < 20})
	}
	return nil
}

// undeclaredReads returns the columns outside pl's declared inputs whose
// change changed what pl produced for some product of a sparse run.
func undeclaredReads(t *testing.T, pl *enrich.Pipeline) []string {
	t.Helper()
	var bad []string
	for _, col := range enrichtest.Columns {
		if pl.Inputs().Has(col) {
			continue
		}
		for _, activated := range []bool{false, true} {
			base, mutated := batches(t, pl, activated)
			for i := range mutated {
				if !enrichtest.Mutate(mutated[i], base[(i+7)%len(base)], col) {
					t.Fatalf("Mutate does not change %s", col)
				}
			}
			if reflect.DeepEqual(base, mutated) {
				t.Fatalf("mutating %s changed no product", col)
			}
			if a, b := produce(t, pl, base), produce(t, pl, mutated); a != b {
				bad = append(bad, col.String())
				t.Logf("with %s changed (activated %v):\n%s", col, activated, firstDiff(a, b))
				break
			}
		}
	}
	return bad
}

// batches returns two copies of the same changed products of a sparse
// run, with what a full run of pl stored for them.
func batches(t *testing.T, pl *enrich.Pipeline, activated bool) (a, b []*enrich.Product) {
	t.Helper()
	mk := func() []*enrich.Product { return enrichtest.OddProducts(t, 600, 5) }
	full := mk()
	if _, err := pl.Run(context.Background(), enrich.Run{ID: "full", TenantID: "t", Now: now}, full, nil); err != nil {
		t.Fatal(err)
	}
	a, b = mk(), mk()
	for i, p := range full {
		stored := map[string]json.RawMessage{}
		for _, r := range p.Results() {
			stored[r.Field] = r.Value
		}
		for _, q := range []*enrich.Product{a[i], b[i]} {
			q.Stored, q.Changed, q.Activated = stored, true, activated
		}
	}
	return a, b
}

var now = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// produce runs pl sparse over batch and prints what it produced: each
// product's results, the tallies and the marks, in a fixed order.
func produce(t *testing.T, pl *enrich.Pipeline, batch []*enrich.Product) string {
	t.Helper()
	o, err := pl.Run(context.Background(), enrich.Run{ID: "inc", TenantID: "t", Now: now.Add(24 * time.Hour), Sparse: true}, batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range batch {
		for _, r := range p.Results() {
			lines = append(lines, fmt.Sprintf("%s %s=%s", p.SKU, r.Field, r.Value))
		}
	}
	var extra []string
	for k, n := range o.Tallies {
		extra = append(extra, fmt.Sprintf("tally %s/%s=%d", k.Name, k.Key, n))
	}
	for _, m := range o.Marks {
		extra = append(extra, fmt.Sprintf("mark %s/%s", m.Name, m.Key))
	}
	slices.Sort(extra)
	return strings.Join(append(lines, extra...), "\n")
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "  " + la[i] + "\n  " + lb[i]
		}
	}
	return fmt.Sprintf("  %d lines against %d", len(la), len(lb))
}
