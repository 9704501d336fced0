package gardener

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"contextworker/modules/gardener/enrich"
)

// setter writes the fields it is given for every product.
type setter map[string]any

func (s setter) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	for _, p := range batch {
		for _, f := range slices.Sorted(maps.Keys(s)) {
			out.Set(p, f, s[f])
		}
	}
	return nil
}

func TestDiff(t *testing.T) {
	pipeline := enrich.NewPipeline(
		enrich.Step{Name: "a", Version: "1", Enricher: setter{"x": map[string]any{"k": "v", "n": 1}, "y": true}},
		enrich.Step{Name: "b", Version: "2", Enricher: setter{"y": false}},
	)
	cases := []struct {
		name                      string
		stored                    map[string]string // field → "enricher version value"
		inserts, updates, removes []string
	}{
		{"nothing stored: every field is new", nil, []string{"x", "y"}, nil, nil},
		{"same values in jsonb's spelling: nothing", map[string]string{"x": `a 1 {"k": "v", "n": 1}`, "y": `b 2 false`}, nil, nil, nil},
		{"another value", map[string]string{"x": `a 1 {"k": "w", "n": 1}`, "y": `b 2 false`}, nil, []string{"x"}, nil},
		{"another version", map[string]string{"x": `a 0 {"k": "v", "n": 1}`, "y": `b 2 false`}, nil, []string{"x"}, nil},
		{"the later enricher's field wins", map[string]string{"x": `a 1 {"k": "v", "n": 1}`, "y": `a 1 true`}, nil, []string{"y"}, nil},
		{"a field its enricher no longer produces goes", map[string]string{"x": `a 1 {"k": "v", "n": 1}`, "y": `b 2 false`, "z": `a 1 3`}, nil, nil, []string{"z"}},
		{"a set-based pass's field stays", map[string]string{"x": `a 1 {"k": "v", "n": 1}`, "y": `b 2 false`, "kept": `a 1 3`}, nil, nil, nil},
		{"a field of an enricher that did not run stays", map[string]string{"x": `a 1 {"k": "v", "n": 1}`, "y": `b 2 false`, "w": `c 1 3`}, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &enrich.Product{SupplierCode: "s", SKU: "1", Changed: true}
			w := &work{batch: []*enrich.Product{p}, stored: make([]map[string]provenance, 1)}
			for f, v := range c.stored {
				parts := strings.SplitN(v, " ", 3)
				e, ver, val := parts[0], parts[1], parts[2]
				if p.Stored == nil {
					p.Stored, w.stored[0] = map[string]json.RawMessage{}, map[string]provenance{}
				}
				p.Stored[f], w.stored[0][f] = json.RawMessage(val), provenance{e, ver}
			}
			out, err := pipeline.Run(context.Background(), enrich.Run{}, w.batch, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := diff(w, out, []string{"kept"})
			names := func(fs []field) []string {
				var n []string
				for _, f := range fs {
					n = append(n, f.name)
				}
				slices.Sort(n)
				return n
			}
			var removed []string
			for _, r := range d.removes {
				removed = append(removed, r.name)
			}
			if got := names(d.inserts); !slices.Equal(got, c.inserts) {
				t.Errorf("inserts %v, want %v", got, c.inserts)
			}
			if got := names(d.updates); !slices.Equal(got, c.updates) {
				t.Errorf("updates %v, want %v", got, c.updates)
			}
			if slices.Sort(removed); !slices.Equal(removed, c.removes) {
				t.Errorf("removes %v, want %v", removed, c.removes)
			}
		})
	}
}
