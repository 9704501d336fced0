package brand

import (
	"encoding/json"
	"testing"

	"contextworker/modules/gardener/enrich/enrichtest"
)

// brandInputs are generated brands, oddities and spellings that reach
// every branch of the encoding without reflection.
func brandInputs(t testing.TB) []string {
	t.Helper()
	ps, err := enrichtest.Products(3000, 5)
	if err != nil {
		t.Fatal(err)
	}
	in := append([]string{
		"", " ", "Robert  Bosch", "bosch", "BOSCH Professional", "Kärcher", "KARCHER", "MAKITA TOOLS", "AEG", "3M", "McCulloch",
		"  stanley   black ", "--", "a\tb", "a\u00a0b", "a\u2003b", " x", "x ", "AEG MAX", "aeg max", "ÉCOLE", "école",
		"O'NEILL", "o'neill bros", "HANSEN & CO", "1-2-3", "ABCD", "abc", "A B C", "x\u0085y",
	}, enrichtest.Oddities...)
	for _, p := range ps {
		in = append(in, p.Brand)
	}
	return in
}

// TestAppendNormalizedIsMarshal: what Enrich stores is what it stored when
// it marshalled Normalize's value, for every case setting.
func TestAppendNormalizedIsMarshal(t *testing.T) {
	for _, c := range []string{"keep", "title", "upper", "lower"} {
		e, err := Build(Config{Case: c, Aliases: map[string][]string{"Bosch": {"Robert Bosch", "BOSCH Professional"}, "Kärcher": {"Karcher"}}})
		if err != nil {
			t.Fatal(err)
		}
		var sc scratch
		for _, raw := range brandInputs(t) {
			got, ok := e.appendNormalized(&sc, raw)
			v, wantOK := e.Normalize(raw)
			want, _ := json.Marshal(v)
			if ok != wantOK || ok && string(got) != string(want) {
				t.Fatalf("case %s, %q: %s %v, want %s %v", c, raw, got, ok, want, wantOK)
			}
		}
	}
}

func FuzzAppendNormalized(f *testing.F) {
	for _, s := range []string{"MAKITA TOOLS", "  stanley   black ", "Kärcher", "AEG", "a\u00a0b"} {
		f.Add(s)
	}
	e, err := Build(Config{Case: "title", Aliases: map[string][]string{"Bosch": {"Robert Bosch"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var sc scratch
		got, ok := e.appendNormalized(&sc, raw)
		v, wantOK := e.Normalize(raw)
		want, _ := json.Marshal(v)
		if ok != wantOK || ok && string(got) != string(want) {
			t.Fatalf("%q: %s %v, want %s %v", raw, got, ok, want, wantOK)
		}
	})
}
