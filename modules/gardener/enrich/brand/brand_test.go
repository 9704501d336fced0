package brand_test

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"contextworker/modules/gardener/enrich/brand"
)

func load(t *testing.T) *brand.Enricher {
	t.Helper()
	b, err := os.ReadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := brand.Config{Case: "title"}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	e, err := brand.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNormalize(t *testing.T) {
	e := load(t)
	tests := []struct {
		name, in, want, wantKey string
		absent                  bool
	}{
		{name: "alias", in: "Robert Bosch", want: "Bosch", wantKey: "bosch"},
		{name: "alias ignores case and punctuation", in: "BOSCH-professional", want: "Bosch", wantKey: "bosch"},
		{name: "canonical itself", in: "bosch", want: "Bosch", wantKey: "bosch"},
		{name: "diacritics in alias", in: "Kärcher", want: "Kärcher", wantKey: "karcher"},
		{name: "diacritics missing", in: "KARCHER", want: "Kärcher", wantKey: "karcher"},
		{name: "all caps titled", in: "MAKITA TOOLS", want: "Makita Tools", wantKey: "makita tools"},
		{name: "short caps kept", in: "AEG", want: "AEG", wantKey: "aeg"},
		{name: "mixed case kept", in: "McCulloch", want: "McCulloch", wantKey: "mcculloch"},
		{name: "spaces collapsed", in: "  stanley   black ", want: "Stanley Black", wantKey: "stanley black"},
		{name: "empty", in: "  ", absent: true},
		{name: "punctuation only", in: "--", absent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := e.Normalize(tt.in)
			if ok == tt.absent {
				t.Fatalf("Normalize(%q) ok = %v", tt.in, ok)
			}
			if !tt.absent && (v.Name != tt.want || v.Key != tt.wantKey) {
				t.Fatalf("Normalize(%q) = %+v, want %q/%q", tt.in, v, tt.want, tt.wantKey)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     brand.Config
		wantErr string
	}{
		{name: "bad case", cfg: brand.Config{Case: "camel"}, wantErr: `case: "camel"`},
		{name: "alias of two", cfg: brand.Config{Case: "keep", Aliases: map[string][]string{"A": {"x"}, "B": {"X"}}}, wantErr: `"X" is an alias of both "A" and "B"`},
		{name: "empty alias", cfg: brand.Config{Case: "keep", Aliases: map[string][]string{"A": {"!"}}}, wantErr: "has no letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := brand.Build(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
