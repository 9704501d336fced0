package extract

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"contextworker/modules/ingest/docgen"
)

// TestSplitReferencesMatchesRegexp: matching only from headingsFrom finds
// what matching the whole text finds.
func TestSplitReferencesMatchesRegexp(t *testing.T) {
	plain := func(text string) (string, string) {
		loc := referencesHead.FindAllStringIndex(text, -1)
		if len(loc) == 0 {
			return text, ""
		}
		last := loc[len(loc)-1]
		return text[:last[0]], text[last[1]:]
	}
	texts := []string{
		"", "References", "no heading here", "see the references below.\nReferences\n[1] x",
		"a.\n\n\n  # References:\n\n[1] x\n\nSources\n[2] y", "x\n#\n#References\n", "x\n \t## bibliography \n",
		"works cited", "Works  Cited\n", "a References\nb\n  REFERENCES  \nc", "x\n\vReferences\n", "x\r\nReferences\r\n[1] y",
		"Kelvin: \u212A\nſources\n[1] x", "sources sources\nsources", "#\n\n#\n\nreferences:", "a\nreferences: x\nSources:\n",
		"References\nReferences\n", "x References\n\nReferences", "\nReferences", "References\n\n\n", "References  \n\nsources",
		"x sources y\nsources\n", "## sources\n#\n\n  bibliography\n\n\nworks cited:\n", "sources:", "a\n\n\nsources x",
	}
	g := docgen.New(13)
	for range 30 {
		texts = append(texts, g.Doc(1200))
	}
	// random texts of heading words, white space, '#', ':' and others
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"References", "sources", "SOURCES", "works cited", "bibliography", " ", "\n", "\n", "\t", "#", ":", "x.", "\r\n", "\v"}
	for range 3000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		texts = append(texts, b.String())
	}
	for i, text := range texts {
		gb, gr := splitReferences(text)
		wb, wr := plain(text)
		if gb != wb || gr != wr {
			t.Fatalf("text %d %q: got (%q, %q), want (%q, %q)", i, text, gb, gr, wb, wr)
		}
	}
}

// TestAbbreviationMatchesWholeText: looking at the last runes only
// decides as lower-casing the whole sentence does.
func TestAbbreviationMatchesWholeText(t *testing.T) {
	whole := func(s string) bool {
		low := strings.ToLower(s)
		for _, a := range abbreviations {
			if strings.HasSuffix(low, " "+a) || low == a || strings.HasSuffix(low, "("+a) {
				return true
			}
		}
		return false
	}
	r := rand.New(rand.NewPCG(3, 4))
	parts := []string{"e.g.", "E.G.", "et al.", "Et Al.", "i.e.", "fig.", "vs.", "no.", " ", "(", "x", "İ", "É", "ß", "K", ".", "al."}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		s := b.String()
		if got, want := abbreviation(s), whole(s); got != want {
			t.Fatalf("abbreviation(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRefNumbersMatchesRegexp: the hand-written matcher finds the numbers
// refEntry's matches find.
func TestRefNumbersMatchesRegexp(t *testing.T) {
	plain := func(refs string) map[int]bool {
		out := map[int]bool{}
		for _, m := range refEntry.FindAllStringSubmatch(refs, 10000) {
			if n, err := strconv.Atoi(m[1] + m[2]); err == nil {
				out[n] = true
			}
		}
		return out
	}
	r := rand.New(rand.NewPCG(5, 6))
	parts := []string{"[1]", "[23]", "[12345]", "7.", "1234.", "12345.", "[", "]", "9", ".", " ", " ", "\n", "\n", "\t", "\r\n", "\v", "x", "é", "\xff", "[4]x", "  [5] a\n"}
	texts := []string{"", "[1] a", "[1]\n[2] b", "1. a\n2.\n3. c", "\n\n  [7]  \n x"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(10) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		texts = append(texts, b.String())
	}
	g := docgen.New(17)
	for range 20 {
		_, refs := splitReferences(g.Doc(2048))
		texts = append(texts, refs)
	}
	for _, s := range texts {
		if got, want := refNumbers(s), plain(s); !maps.Equal(got, want) {
			t.Fatalf("refNumbers(%q) = %v, want %v", s, got, want)
		}
	}
}
