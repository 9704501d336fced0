package enrich

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// letters that do not decompose into a base letter plus marks.
var foldSpecial = strings.NewReplacer("ß", "ss", "ø", "o", "Ø", "o", "ł", "l", "Ł", "l", "đ", "d", "Đ", "d",
	"æ", "ae", "Æ", "ae", "œ", "oe", "Œ", "oe", "ı", "i")

// Fold returns s lower-cased, without diacritics, with every run of
// characters other than letters and digits turned into one space, trimmed:
// "Bósch  Pro-Line®" → "bosch pro line". It is the matching key for brands,
// categories and names.
func Fold(s string) string {
	s = foldSpecial.Replace(s)
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	if r, _, err := transform.String(t, s); err == nil {
		s = r
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		space = true
	}
	return b.String()
}
