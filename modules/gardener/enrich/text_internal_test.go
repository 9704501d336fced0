package enrich

import (
	"testing"
	"unicode/utf8"
)

// foldAlphabet is every character AppendFold folds one by one, ASCII
// included.
func foldAlphabet() []rune {
	var rs []rune
	for r := rune(0); r < utf8.RuneSelf; r++ {
		rs = append(rs, r)
	}
	for _, rg := range foldRanges {
		for r := rg.lo; r <= rg.hi; r++ {
			rs = append(rs, r)
		}
	}
	return rs
}

// TestAppendFoldPairs: folding character by character is what the
// general path gives for every pair of characters the table covers, so no
// character composes with or reorders around its neighbour. Runs of more
// than two add nothing: what is left after marks are stripped are
// starters, which compose pairwise if at all.
func TestAppendFoldPairs(t *testing.T) {
	rs := foldAlphabet()
	step := 1
	if testing.Short() {
		step = 7
	}
	var buf []byte
	for i, a := range rs {
		for j := i % step; j < len(rs); j += step {
			s := string(a) + string(rs[j])
			buf = AppendFold(buf[:0], s)
			if want := foldReference(s); string(buf) != want {
				t.Fatalf("AppendFold(%q) = %q, want %q", s, buf, want)
			}
		}
	}
}

func TestFoldCases(t *testing.T) {
	tests := []string{
		"", " ", "Bósch  Pro-Line®", "  ÄÖÜ straße ", "Løgstør", "3M", "Ærø Øst", "İstanbul ıi", "日本語 テキスト",
		"e\u0301te\u0301", "\xff\xfe broken", "a\u00adb", "Größe: 38", "ǅemal", "Ω ohm \u2126", "5 \u212a", "ſ",
		"emoji 🎉 party", "\u2028\u2029", "a\x00b", "Müller & Söhne GmbH", "ĲSSELMEER", "½ liter", "x²", "€ 5,–",
		"«Gänsefüßchen»", "Crème brûlée", "ﬁne", "Ａｂｃ", "\u0301", "a\u20d7b",
	}
	for _, s := range tests {
		if got, want := Fold(s), foldReference(s); got != want {
			t.Errorf("Fold(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"Bósch  Pro-Line®", "Größe: 38", "e\u0301", "日本", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Fold(s), foldReference(s); got != want {
			t.Fatalf("Fold(%q) = %q, want %q", s, got, want)
		}
	})
}
