package attributes

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPrefilterLiterals(t *testing.T) {
	cases := []struct {
		name, pattern string
		want          []string
		fold, none    bool
	}{
		{"case-insensitive word", `(?i)\bsize[:\s]+(\d{1,3}(?:[.,]5)?)\b`, []string{"size"}, true, false},
		{"alternatives", `\b(XXS|XS|S|M|L|XL|XXL|XXXL|3XL)\b`, []string{"3XL", "L", "M", "S", "X"}, false, false},
		{"umlaut without case", `(?i)\bgr(?:ö|oe)(?:ß|ss)e[:\s]+(\d{1,3})\b`, []string{"gr"}, true, false},
		{"digits", `(?:ab)?\d+`, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, false, false},
		{"optional only", `(?:ab)?x*`, nil, false, true},
		{"any character", `.+`, nil, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newPrefilter(c.pattern)
			got := slices.Sorted(slices.Values(f.lits))
			want := slices.Sorted(slices.Values(c.want))
			// The alternatives' literals may come back factored by the
			// parser; every one must be a substring of some alternative.
			if f.none != c.none || f.fold != c.fold || !c.none && !coversAll(got, want) {
				t.Fatalf("prefilter(%s) = %+v, want %v fold %v none %v", c.pattern, f, want, c.fold, c.none)
			}
		})
	}
}

// coversAll: each wanted literal contains one of got.
func coversAll(got, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(w, g) }) {
			return false
		}
	}
	return len(got) > 0
}

// TestPrefilterNeverRulesOutAMatch tries the default size patterns on many
// texts made of their own pieces: whenever the regexp matches, the
// prefilter must have let the text through.
func TestPrefilterNeverRulesOutAMatch(t *testing.T) {
	pieces := []string{"size", "SIZE", "Size:", " ", "12", "3", ",5", "XL", "xl", "S", "M", "L", "3XL", "Größe", "groesse", "GRÖSSE",
		"grösse", "ſize", "\u212a", "GRÖßE", ":", "-", "é", "x", "Travel", "jacket", "\t", "(", ")", "XXS"}
	r := rand.New(rand.NewPCG(1, 2))
	for _, pattern := range DefaultConfig().Sizes {
		re, f := regexp.MustCompile(pattern), newPrefilter(pattern)
		for range 20000 {
			var b strings.Builder
			for range 1 + r.IntN(6) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			s := b.String()
			if re.MatchString(s) && !f.mayMatch(s) {
				t.Fatalf("%s matches %q, but its prefilter %+v ruled it out", pattern, s, f)
			}
		}
	}
}

// TestMayHoldQuantityNeverRulesOutAMatch: whenever quantityPattern matches,
// mayHoldQuantity must say it may.
func TestMayHoldQuantityNeverRulesOutAMatch(t *testing.T) {
	pieces := []string{"5", "0", "12", ".", ",", " ", "\t", "kg", "KG", "g", "fl oz", "fl.oz", "Ltr", "litres", "gal", "lbs", "t",
		"x", "E", "-", "é", "\u212a" + "g", "Orbita", "Robot", "ml", "cl", "dl", "oz", "mg", "cm", "s", "_", "fl", "f", "l", "L",
		"lb", "liter", "LITRE", "o", "z", "\u017f", "\n", "\v", "fl. oz", "fl\toz", "fl..oz", "gallon", "tons", "ltrs", "kgs", "9"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 300000 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if quantityPattern.MatchString(s) && !mayHoldQuantity(s) {
			t.Fatalf("quantityPattern matches %q, but mayHoldQuantity ruled it out", s)
		}
	}
	for _, s := range []string{"Orbita Travel Robot Kit E867", "no digits", "SKU 123-456", "Frying Pan, 28 cm", "12 gauge", "5 kgs", "3 tons"} {
		if mayHoldQuantity(s) {
			t.Errorf("mayHoldQuantity(%q) = true; it holds no quantity", s)
		}
	}
}

// findBySearch is how words were found before wordIndex: each word
// searched for in the text.
func findBySearch(folded string, ws []word) string {
	best, at := "", len(folded)
	for _, w := range ws {
		if i := strings.Index(folded, w.padded); i >= 0 && i < at {
			best, at = w.canonical, i
		}
	}
	return best
}

func TestWordIndexFindsWhatSearchFinds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Materials["plastic"] = append(cfg.Materials["plastic"], "hard plastic shell")
	pieces := []string{"stainless", "steel", "stahl", "edel", "edelstahl", "black", "schwarz", "hard", "plastic", "shell", "grau",
		"x", "wood", "glass", "alu", "aluminium", "12", "gruen", "red", "rot"}
	r := rand.New(rand.NewPCG(5, 6))
	for _, m := range []map[string][]string{cfg.Colors, cfg.Materials} {
		ws := words(m)
		x := indexWords(ws)
		for range 20000 {
			var b strings.Builder
			b.WriteString(" ")
			for range r.IntN(7) {
				b.WriteString(pieces[r.IntN(len(pieces))] + " ")
			}
			s := b.String()
			if got, _ := findPair(&x, &x, s, true, false); got != findBySearch(s, ws) {
				t.Fatalf("findPair(%q) = %q, want %q", s, got, findBySearch(s, ws))
			}
			if _, got := findPair(&x, &x, s, false, true); got != findBySearch(s, ws) {
				t.Fatalf("findPair(%q) = %q, want %q", s, got, findBySearch(s, ws))
			}
			if got, want := findReference(x, s), findBySearch(s, ws); got != want {
				t.Fatalf("find(%q) = %q, searching finds %q", s, got, want)
			}
		}
	}
}
