package category_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/category"
)

func taxonomy(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/taxonomy.txt")
	if err != nil {
		t.Fatal(err)
	}
	return category.ParseTaxonomy(b)
}

func TestMap(t *testing.T) {
	e, err := category.Build(category.Config{
		FuzzyThreshold: 0.5,
		Rules: []category.Rule{
			{Prefix: "Werkzeug > Hämmer", Category: "Tools > Hand Tools > Hammers"},
			{Regex: `(?i)bohr`, Category: "Tools > Power Tools > Drills"},
			{Prefix: "Misc", Supplier: "s2", Category: "Kitchen > Knives"},
		},
	}, taxonomy(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		supplier string
		path     []string
		want     string
		by       string
	}{
		{name: "prefix rule", path: []string{"Werkzeug", "Hämmer", "Klauenhämmer"}, want: "Tools > Hand Tools > Hammers", by: "rule"},
		{name: "prefix rule ignores case and umlauts", path: []string{"werkzeug", "HAMMER", "Klauenhammer"}, want: "Tools > Hand Tools > Hammers", by: "rule"},
		{name: "prefix is whole segments, fuzzy still finds it", path: []string{"Werkzeuge", "Hämmer"}, want: "Tools > Hand Tools > Hammers", by: "fuzzy"},
		{name: "regex rule", path: []string{"Elektro > Bohrmaschinen"}, want: "Tools > Power Tools > Drills", by: "rule"},
		{name: "rule limited to a supplier", supplier: "s2", path: []string{"Misc", "Stuff"}, want: "Kitchen > Knives", by: "rule"},
		{name: "rule of another supplier", supplier: "s1", path: []string{"Misc", "Stuff"}},
		{name: "exact path", path: []string{"tools", "power tools", "saws"}, want: "Tools > Power Tools > Saws", by: "exact"},
		{name: "exact unique leaf", path: []string{"Everything", "Lawn mowers"}, want: "Garden > Lawn Mowers", by: "exact"},
		{name: "fuzzy plural", path: []string{"Gardening", "Hose"}, want: "Garden > Hoses", by: "fuzzy"},
		{name: "fuzzy typo", path: []string{"Shop", "Screwdriver"}, want: "Tools > Hand Tools > Screwdrivers", by: "fuzzy"},
		{name: "ambiguous leaf decided by parent", path: []string{"Outdoor lighting", "Lamp"}, want: "Outdoor > Lighting > Lamps", by: "fuzzy"},
		{name: "unmapped", path: []string{"Toys", "Puzzles"}},
		{name: "empty", path: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := e.Map(tt.supplier, tt.path)
			if tt.want == "" {
				if v != nil {
					t.Fatalf("Map(%v) = %+v, want unmapped", tt.path, v)
				}
				return
			}
			if v == nil || v.Path != tt.want || v.By != tt.by {
				t.Fatalf("Map(%v) = %+v, want %s by %s", tt.path, v, tt.want, tt.by)
			}
		})
	}
}

func TestEnrichTalliesUnmapped(t *testing.T) {
	e, err := category.Build(category.Config{FuzzyThreshold: 0.8}, taxonomy(t))
	if err != nil {
		t.Fatal(err)
	}
	batch := []*enrich.Product{
		{SKU: "1", CategoryPath: []string{"Garden", "Hoses"}, Changed: true},
		{SKU: "2", CategoryPath: []string{"Toys"}, Changed: true},
		{SKU: "3", CategoryPath: []string{"Toys"}, Changed: true},
	}
	p := enrich.NewPipeline(enrich.Step{Name: category.Name, Version: "1", Enricher: e})
	out, err := p.Run(context.Background(), enrich.Run{}, batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(batch[0].Value(category.Field)); got != `{"path":"Garden \u003e Hoses","by":"exact","score":1}` {
		t.Fatalf("field = %s", got)
	}
	if n := out.Tallies[enrich.Tally{Name: category.TallyUnmapped, Key: "Toys"}]; n != 2 || len(batch[1].Results()) != 0 {
		t.Fatalf("unmapped tally = %d, results %v", n, batch[1].Results())
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     category.Config
		tax     []string
		wantErr string
	}{
		{name: "empty taxonomy", wantErr: "taxonomy: empty"},
		{name: "rule target unknown", tax: []string{"A > B"}, cfg: category.Config{Rules: []category.Rule{{Prefix: "x", Category: "A > C"}}}, wantErr: `rules[0].category: "A > C" is not in the taxonomy`},
		{name: "rule without matcher", tax: []string{"A"}, cfg: category.Config{Rules: []category.Rule{{Category: "A"}}}, wantErr: "rules[0]: set exactly one of prefix and regex"},
		{name: "bad regex", tax: []string{"A"}, cfg: category.Config{Rules: []category.Rule{{Regex: "(", Category: "A"}}}, wantErr: "rules[0].regex"},
		{name: "threshold", tax: []string{"A"}, cfg: category.Config{FuzzyThreshold: 2}, wantErr: "fuzzy_threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := category.Build(tt.cfg, tt.tax)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
