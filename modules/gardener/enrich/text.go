package enrich

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// letters that do not decompose into a base letter plus marks.
var foldSpecial = strings.NewReplacer("ß", "ss", "ø", "o", "Ø", "o", "ł", "l", "Ł", "l", "đ", "d", "Đ", "d",
	"æ", "ae", "Æ", "ae", "œ", "oe", "Œ", "oe", "ı", "i")

// stripMarks removes diacritics. A chain holds buffers and state, so each
// goroutine takes its own from the pool instead of building one per call
// (which cost more than the folding itself).
var stripMarks = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// Fold returns s lower-cased, without diacritics, with every run of
// characters other than letters and digits turned into one space, trimmed:
// "Bósch  Pro-Line®" → "bosch pro line". It is the matching key for brands,
// categories and names. Text that is all ASCII (most of it) takes a path
// that neither normalises nor decodes runes; it yields what the general
// path would.
func Fold(s string) string {
	if !isASCII(s) {
		s = foldSpecial.Replace(s)
		t := stripMarks.Get().(transform.Transformer)
		if r, _, err := transform.String(t, s); err == nil {
			s = r
		}
		stripMarks.Put(t)
		if !isASCII(s) {
			return foldRunes(s)
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
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) // b is not written again
}

// foldASCII maps an ASCII letter or digit to its folded byte, any other
// byte to 0 (a separator).
var foldASCII = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = byte(c), byte(c)
	}
	return t
}()

// foldRunes is Fold's last step for text that is not all ASCII.
func foldRunes(s string) string {
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
