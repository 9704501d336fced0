package enrich

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

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
// categories and names.
func Fold(s string) string {
	var buf [128]byte
	b := AppendFold(buf[:0], s)
	if string(b) == s {
		return s // already folded: no copy
	}
	return string(b)
}

// AppendFold appends Fold(s) to dst. Callers that only look at the folded
// text (a search, a map lookup) fold into a buffer they reuse.
//
// Text of ASCII and of the characters of foldRanges (Latin
// letters with diacritics, punctuation, currency signs) is folded
// character by character, which is what the general path (decomposition,
// removal of marks, recomposition: foldSlow) amounts to for them; any
// other character sends the whole text down the general path.
func AppendFold(dst []byte, s string) []byte {
	start := len(dst)
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if f := foldASCII[c]; f != 0 {
				if space && len(dst) > start {
					dst = append(dst, ' ')
				}
				space = false
				dst = append(dst, f)
			} else {
				space = true
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch f := foldRune(r); {
		case f == foldSeparator:
			space = true
		case f == "":
			return append(dst[:start], foldSlow(s)...)
		default:
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			dst = append(dst, f...)
		}
	}
	return dst
}

// foldSlow is the general path of Fold: special letters replaced, marks
// stripped, then letters and digits kept.
func foldSlow(s string) string {
	s = foldSpecial.Replace(s)
	t := stripMarks.Get().(transform.Transformer)
	if r, _, err := transform.String(t, s); err == nil {
		s = r
	}
	stripMarks.Put(t)
	if !isASCII(s) {
		return foldRunes(s)
	}
	var b []byte
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

// foldSeparator is foldRune's answer for a character that separates words.
const foldSeparator = " "

// foldRanges are the blocks of characters folded one by one: Latin-1,
// Latin Extended-A and -B, general punctuation, currency signs and
// letter-like symbols. Their folding was checked pair by pair (see
// TestAppendFoldPairs): none composes with its neighbour.
var foldRanges = [...]struct{ lo, hi rune }{{0x80, 0x24f}, {0x2000, 0x206f}, {0x20a0, 0x20c0}, {0x2100, 0x214f}}

// foldTable holds, for each character of foldRanges in order, its folded
// letters and digits (lower-case ASCII), foldSeparator, or "" when the
// character takes the general path.
var foldTable = func() []string {
	var t []string
	for _, rg := range foldRanges {
		for r := rg.lo; r <= rg.hi; r++ {
			t = append(t, foldOne(r))
		}
	}
	return t
}()

// foldOne derives the table entry of r from the general path: the ASCII
// letters and digits it becomes, or foldSeparator when it stays itself
// and is neither letter nor digit.
func foldOne(r rune) string {
	s := foldSpecial.Replace(string(r))
	t := stripMarks.Get().(transform.Transformer)
	out, _, err := transform.String(t, s)
	stripMarks.Put(t)
	switch {
	case err != nil || out == "":
		return ""
	case out == string(r) && !unicode.IsLetter(r) && !unicode.IsDigit(r):
		return foldSeparator
	}
	b := make([]byte, 0, len(out))
	for i := 0; i < len(out); i++ {
		c := foldASCII[out[i]]
		if out[i] >= utf8.RuneSelf || c == 0 {
			return "" // not plain letters and digits: the general path
		}
		b = append(b, c)
	}
	return string(b)
}

// foldRune returns r's entry in foldTable; "" outside its ranges.
func foldRune(r rune) string {
	off := 0
	for _, rg := range foldRanges {
		if r < rg.lo {
			return ""
		}
		if r <= rg.hi {
			return foldTable[off+int(r-rg.lo)]
		}
		off += int(rg.hi-rg.lo) + 1
	}
	return ""
}

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
