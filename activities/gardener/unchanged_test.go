package gardener

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/enrichtest"
)

// TestUnchangedColumnsWriteTheSame: on products whose changed columns a
// logged run knows, running only the enrichers that read one of them
// writes, removes and marks exactly what running every enricher would.
// Each column is changed alone, and with another (a name and a stock
// level), under the default enrichers and with duplicates keyed by brand
// and name too.
func TestUnchangedColumnsWriteTheSame(t *testing.T) {
	configs := map[string]string{
		"default": "",
		"brand and name keys": `
- name: brand
- name: attributes
- name: duplicates
  config: {by_brand_name: true}
- name: quality
- name: category
  config:
    taxonomy: ["Toys > Board Games", "Home > Kitchen"]
    fuzzy_threshold: 0.6
`,
	}
	changes := slices.Clone(enrichtest.Columns)
	changes = append(changes, prodfields.Name|prodfields.Stock, prodfields.Price|prodfields.Brand)
	fewer := 0
	for name, specs := range configs {
		cfg := DefaultConfig()
		if specs != "" {
			if err := yaml.Unmarshal([]byte(specs), &cfg.Enrichers); err != nil {
				t.Fatal(err)
			}
		}
		a, err := New(nil, cfg, nil, enrich.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cols := range changes {
			t.Run(fmt.Sprintf("%s/%s", name, cols), func(t *testing.T) {
				all, ranAll := a.sparseDelta(t, cols, false)
				some, ranSome := a.sparseDelta(t, cols, true)
				if all != some {
					t.Fatalf("every enricher:\n%s\nthose reading %s:\n%s", all, cols, some)
				}
				switch {
				case ranSome > ranAll:
					t.Fatalf("%d enricher runs on products that say what changed, %d on the same that do not", ranSome, ranAll)
				case !a.Pipeline.Inputs().Has(cols) && ranSome != 0:
					t.Fatalf("%d enricher runs, though none reads %s", ranSome, cols)
				case ranSome > 0 && ranSome < ranAll:
					fewer++
				}
			})
		}
	}
	if fewer == 0 {
		t.Fatal("no change ran some enrichers and not others")
	}
}

// sparseDelta runs a's pipeline as a logged run would over 400 products
// whose columns cols changed since a full run stored its results, and
// prints the diff and marks; known says whether the products say which
// columns did not change. It returns the print and the enricher runs.
func (a *Activities) sparseDelta(t *testing.T, cols prodfields.Set, known bool) (string, int) {
	t.Helper()
	mk := func() []*enrich.Product { return enrichtest.OddProducts(t, 400, 3) }
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	full := mk()
	if _, err := a.Pipeline.Run(context.Background(), enrich.Run{ID: "full", TenantID: "t", Now: now}, full, nil); err != nil {
		t.Fatal(err)
	}
	batch := mk()
	w := &work{batch: batch, stored: make([]map[string]provenance, len(batch))}
	for i, p := range batch {
		p.Stored, w.stored[i] = map[string]json.RawMessage{}, map[string]provenance{}
		for _, r := range full[i].Results() {
			v, ok := jsonbText(r.Value)
			if !ok {
				v = r.Value
			}
			p.Stored[r.Field], w.stored[i][r.Field] = v, provenance{r.Enricher, r.Version}
		}
		for _, c := range enrichtest.Columns {
			if cols.Has(c) {
				enrichtest.Mutate(p, batch[(i+7)%len(batch)], c)
			}
		}
		if known {
			p.Unchanged = prodfields.All &^ cols
		}
	}
	o, err := a.Pipeline.Run(context.Background(), enrich.Run{ID: "inc", TenantID: "t", Now: now.Add(24 * time.Hour), Sparse: true}, batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := diff(w, o, nil)
	var lines []string
	for _, f := range append(d.inserts, d.updates...) {
		lines = append(lines, fmt.Sprintf("write %s %s=%s by %s", f.sku, f.name, f.value, f.enricher))
	}
	for _, r := range d.removes {
		lines = append(lines, fmt.Sprintf("remove %s %s", r.sku, r.name))
	}
	for _, m := range o.Marks {
		lines = append(lines, "mark "+m.Name+" "+m.Key)
	}
	slices.Sort(lines)
	return fmt.Sprint(len(lines), " changes:\n", lines), len(o.Ran)
}
