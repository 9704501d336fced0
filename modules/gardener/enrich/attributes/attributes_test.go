package attributes_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/attributes"
)

type testCase struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Attributes  map[string]any `yaml:"attributes"`
	Want        struct {
		Color    string               `yaml:"color"`
		Material string               `yaml:"material"`
		Size     string               `yaml:"size"`
		Weight   *attributes.Quantity `yaml:"weight"`
		Volume   *attributes.Quantity `yaml:"volume"`
	} `yaml:"want"`
}

func TestExtract(t *testing.T) {
	b, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	if err := yaml.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	e, err := attributes.Build(attributes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got := e.Extract(&enrich.Product{Name: tc.Name, Description: tc.Description, Attributes: tc.Attributes})
			want := attributes.Extracted{Color: tc.Want.Color, Material: tc.Want.Material, Size: tc.Want.Size, Weight: tc.Want.Weight, Volume: tc.Want.Volume}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Extract = %s\nwant      %s", show(got), show(want))
			}
		})
	}
}

func show(x attributes.Extracted) string {
	b, _ := yaml.Marshal(x)
	return strings.ReplaceAll(string(b), "\n", "; ")
}

func TestEnrichWritesOnlyFound(t *testing.T) {
	e, err := attributes.Build(attributes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p := &enrich.Product{Name: "Hammer 1 kg", Changed: true}
	if _, err := enrich.NewPipeline(enrich.Step{Name: attributes.Name, Version: "1", Enricher: e}).Run(context.Background(), enrich.Run{}, []*enrich.Product{p}, nil); err != nil {
		t.Fatal(err)
	}
	if len(p.Results()) != 1 || string(p.Value(attributes.FieldWeight)) != `{"unit":"kg","value":1}` {
		t.Fatalf("results = %v", p.Results())
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, size, wantErr string
	}{
		{name: "bad regex", size: "(", wantErr: "sizes[0]"},
		{name: "no group", size: `\bXL\b`, wantErr: "exactly one capture group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := attributes.Build(attributes.Config{Sizes: []string{tt.size}})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
