package attributes

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestNewWordSet(t *testing.T) {
	cases := []struct {
		name, pattern string
		want          []string // nil: not of the shape
	}{
		{"default sizes", `\b(XXS|XS|S|M|L|XL|XXL|XXXL|3XL)\b`, []string{"XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "3XL"}},
		{"optional part", `\b(X?L)\b`, []string{"L", "XL"}},
		{"without case", `(?i)\b(S|M)\b`, nil},
		{"no boundaries", `(S|M)`, nil},
		{"not a word", `\b(S-M|L)\b`, nil},
		{"unbounded", `\b(X+L)\b`, nil},
		{"other capture", `\bsize[:\s]+(\d{1,3})\b`, nil},
		{"too many words", `\b([0-9][0-9][0-9])\b`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := newWordSet(c.pattern)
			if (ws == nil) != (c.want == nil) || len(ws) != len(c.want) {
				t.Fatalf("newWordSet(%s) = %v, want %v", c.pattern, ws, c.want)
			}
			for _, w := range c.want {
				if _, ok := ws[w]; !ok {
					t.Fatalf("newWordSet(%s) = %v, lacks %q", c.pattern, ws, w)
				}
			}
		})
	}
}

// TestWordSetFindsWhatTheRegexpFinds tries patterns of the shape on texts
// made of their pieces: the set must find the regexp's first capture.
func TestWordSetFindsWhatTheRegexpFinds(t *testing.T) {
	pieces := []string{"XL", "xl", "S", "M", "L", "3XL", "XXS", "X", " ", "-", "_", "é", "Größe", "ſ", "3", "Shirt", ",", "\t", "LL", "SM"}
	r := rand.New(rand.NewPCG(7, 8))
	for _, pattern := range []string{`\b(XXS|XS|S|M|L|XL|XXL|XXXL|3XL)\b`, `\b(X?L|S)\b`} {
		re, ws := regexp.MustCompile(pattern), newWordSet(pattern)
		if ws == nil {
			t.Fatalf("%s: no word set", pattern)
		}
		for range 30000 {
			var b strings.Builder
			for range 1 + r.IntN(6) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			s := b.String()
			want, wantOK := "", false
			if m := re.FindStringSubmatch(s); m != nil {
				want, wantOK = m[1], true
			}
			if got, ok := ws.findFiltered(s, ws.filter()); got != want || ok != wantOK {
				t.Fatalf("%s: findFiltered(%q) = %q, %v; the regexp: %q, %v", pattern, s, got, ok, want, wantOK)
			}
			if got, ok := ws.find(s); got != want || ok != wantOK {
				t.Fatalf("%s on %q: set finds %q %v, regexp %q %v", pattern, s, got, ok, want, wantOK)
			}
		}
	}
}

func TestMayMatchLowerIsMayMatch(t *testing.T) {
	pieces := []string{"size", "SIZE", "SiZe", "Size:", " ", "12", "Größe", "GRÖSSE", "gr", "GR", "ſize", "\u212a", "é", "x", "Z"}
	r := rand.New(rand.NewPCG(9, 10))
	for _, pattern := range DefaultConfig().Sizes {
		f := newPrefilter(pattern)
		for range 20000 {
			var b strings.Builder
			for range 1 + r.IntN(5) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			s := b.String()
			if got, want := f.mayMatchLower(s, string(appendASCIILower(nil, s)), hasFoldSpecial(s)), f.mayMatch(s); got != want {
				t.Fatalf("%s on %q: mayMatchLower %v, mayMatch %v", pattern, s, got, want)
			}
		}
	}
}
