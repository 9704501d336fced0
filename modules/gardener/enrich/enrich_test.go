package enrich_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"contextworker/modules/gardener/enrich"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bósch  Pro-Line®", "bosch pro line"},
		{"  ÄÖÜ straße ", "aou strasse"},
		{"Løgstør", "logstor"},
		{"", ""},
		{"3M", "3m"},
	}
	for _, tt := range tests {
		if got := enrich.Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type upper struct{ field string }

func (u upper) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	for _, p := range batch {
		out.Set(p, u.field, strings.ToUpper(p.Name))
		out.Count("seen", p.SKU)
		out.Mark("seen", p.SKU)
	}
	return nil
}

type upperConfig struct {
	Field string `yaml:"field"`
}

func upperFactory(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := upperConfig{Field: "upper"}
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Field == "" {
		return nil, errors.New("field: must not be empty")
	}
	return upper{cfg.Field}, nil
}

func specs(t *testing.T, src string) []enrich.Spec {
	t.Helper()
	var s []enrich.Spec
	if err := yaml.Unmarshal([]byte(src), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistry(t *testing.T) {
	r := enrich.NewRegistry()
	if err := r.Register("upper", "1", upperFactory); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, reg, version, wantErr string
	}{
		{name: "duplicate", reg: "upper", version: "1", wantErr: `enricher "upper" is already registered`},
		{name: "bad name", reg: "Upper", version: "1", wantErr: `invalid name "Upper"`},
		{name: "no version", reg: "x", version: "", wantErr: `version "" must be non-empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Register(tt.reg, tt.version, upperFactory)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Register = %v, want %q", err, tt.wantErr)
			}
		})
	}
	_, err := r.Lookup("nope")
	if !errors.Is(err, enrich.ErrUnknown) || !strings.Contains(err.Error(), `unknown enricher "nope" (known: upper;`) {
		t.Fatalf("Lookup(nope) = %v", err)
	}
}

func TestBuild(t *testing.T) {
	r := enrich.NewRegistry()
	if err := r.Register("upper", "1", upperFactory); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, wantErr string
		wantSteps          int
	}{
		{name: "defaults", src: "- name: upper", wantSteps: 1},
		{name: "disabled", src: "- name: upper\n  enabled: false", wantSteps: 0},
		{name: "unknown enricher", src: "- name: nope", wantErr: `enrichers[0]: unknown enricher "nope"`},
		{name: "unknown key", src: "- name: upper\n  config: {feild: x}", wantErr: "field feild not found"},
		{name: "invalid config", src: "- name: upper\n  config: {field: ''}", wantErr: "enrichers[0] (upper).config: field: must not be empty"},
		{name: "twice", src: "- name: upper\n- name: upper", wantErr: `enrichers[1]: enricher "upper" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.Build(specs(t, tt.src), enrich.Deps{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Steps()) != tt.wantSteps {
				t.Fatalf("steps = %d, want %d", len(p.Steps()), tt.wantSteps)
			}
		})
	}
}

func TestVersionFollowsRules(t *testing.T) {
	r := enrich.NewRegistry()
	if err := r.Register("upper", "1", upperFactory); err != nil {
		t.Fatal(err)
	}
	version := func(src string) string {
		p, err := r.Build(specs(t, src), enrich.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Steps()[0].Version
	}
	a, b := version("- name: upper\n  config: {field: a}"), version("- name: upper\n  config:\n    field: a\n")
	c := version("- name: upper\n  config: {field: b}")
	if a != b || !strings.HasPrefix(a, "1+") {
		t.Fatalf("same rules, different versions: %q %q", a, b)
	}
	if a == c {
		t.Fatalf("changed rules kept version %q", a)
	}
}

func TestPipelineRunsStaleStepsOnUnchangedProducts(t *testing.T) {
	p := enrich.NewPipeline(
		enrich.Step{Name: "a", Version: "1", Enricher: upper{"a"}},
		enrich.Step{Name: "b", Version: "1", Enricher: upper{"b"}},
	)
	changed := &enrich.Product{SKU: "1", Name: "x", Changed: true}
	same := &enrich.Product{SKU: "2", Name: "y"}
	out, err := p.Run(context.Background(), enrich.Run{}, []*enrich.Product{changed, same}, []string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed.Results()) != 2 || len(same.Results()) != 1 || same.Results()[0].Field != "b" {
		t.Fatalf("results: changed %v, unchanged %v", changed.Results(), same.Results())
	}
	if len(out.Ran) != 3 || out.Tallies[enrich.Tally{Name: "seen", Key: "1"}] != 2 {
		t.Fatalf("outcome %+v", out)
	}
	if string(same.Value("b")) != `"Y"` {
		t.Fatalf("Value(b) = %s", same.Value("b"))
	}
}

// TestFoldFastPathAgreesWithRunes: the ASCII path must fold exactly as the
// general one does.
func TestFoldFastPathAgreesWithRunes(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 128; c++ {
		all.WriteByte(byte(c))
	}
	cases := []string{"Claw hammer 500 g steel black", "BOSCH Professional", "  a--b  ", "X_Y", all.String(), "3M ", "\tTab\nNew"}
	for _, in := range cases {
		// Appending a non-ASCII letter sends the text down the general path;
		// it folds to " e" at the end.
		general := enrich.Fold(in + " é")
		want := strings.TrimSuffix(strings.TrimSuffix(general, "e"), " ")
		if got := enrich.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, general path gives %q", in, got, want)
		}
	}
}

type splitUpper struct{ upper }

func (splitUpper) Splittable() {}

// TestRunSplitMatchesRun: a split batch ends with the results, ran list
// and tallies an unsplit one gets.
func TestRunSplitMatchesRun(t *testing.T) {
	mk := func() []*enrich.Product {
		var batch []*enrich.Product
		for i := range 1000 {
			batch = append(batch, &enrich.Product{SKU: fmt.Sprint(i % 700), Name: fmt.Sprint("n", i), Changed: i%3 != 0})
		}
		return batch
	}
	cases := []struct {
		name  string
		steps []enrich.Step
		stale []string
	}{
		{"splittable steps", []enrich.Step{{Name: "a", Version: "1", Enricher: splitUpper{upper{"a"}}}, {Name: "b", Version: "1", Enricher: splitUpper{upper{"b"}}}}, []string{"b"}},
		{"one step not splittable", []enrich.Step{{Name: "a", Version: "1", Enricher: splitUpper{upper{"a"}}}, {Name: "c", Version: "1", Enricher: upper{"c"}}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := enrich.NewPipeline(c.steps...)
			whole, split := mk(), mk()
			want, err := p.Run(context.Background(), enrich.Run{}, whole, c.stale)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.RunSplit(context.Background(), enrich.Run{}, split, c.stale, 3)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.Tallies, want.Tallies) || len(want.Tallies) == 0 {
				t.Errorf("tallies %v, want %v", got.Tallies, want.Tallies)
			}
			byKey := func(a, b enrich.Tally) int {
				return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Key, b.Key))
			}
			gotMarks, wantMarks := slices.Clone(got.Marks), slices.Clone(want.Marks)
			slices.SortFunc(gotMarks, byKey)
			slices.SortFunc(wantMarks, byKey)
			if !slices.Equal(gotMarks, wantMarks) || len(wantMarks) == 0 {
				t.Errorf("marks: %d, want %d", len(gotMarks), len(wantMarks))
			}
			sortRan := func(r []enrich.Ran) []enrich.Ran {
				r = slices.Clone(r)
				slices.SortFunc(r, func(a, b enrich.Ran) int { return cmp.Or(a.Index-b.Index, strings.Compare(a.Enricher, b.Enricher)) })
				return r
			}
			if !slices.Equal(sortRan(got.Ran), sortRan(want.Ran)) {
				t.Errorf("ran differs: %d entries, want %d", len(got.Ran), len(want.Ran))
			}
			for i := range whole {
				if !reflect.DeepEqual(split[i].Results(), whole[i].Results()) {
					t.Fatalf("product %d: results %v, want %v", i, split[i].Results(), whole[i].Results())
				}
			}
		})
	}
}
