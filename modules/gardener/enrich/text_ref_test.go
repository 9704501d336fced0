package enrich

import (
	"strings"
	"unicode"

	"golang.org/x/text/transform"
)

// foldReference is Fold as it was before its table-driven path: the
// definition every faster path must agree with, byte for byte.
func foldReference(s string) string {
	if !isASCII(s) {
		s = foldSpecial.Replace(s)
		t := stripMarks.Get().(transform.Transformer)
		if r, _, err := transform.String(t, s); err == nil {
			s = r
		}
		stripMarks.Put(t)
		if !isASCII(s) {
			return foldRunesReference(s)
		}
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := foldASCII[s[i]]
		if c == 0 {
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

func foldRunesReference(s string) string {
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
