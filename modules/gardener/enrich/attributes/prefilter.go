package attributes

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// prefilter is a cheap necessary condition for a regular expression to
// match: text that contains none of lits cannot match it. Go's regexp scans
// every position of every text; most texts hold no size at all, and a
// substring search rules them out for a fraction of the cost.
type prefilter struct {
	lits []string
	// fold compares ASCII letters without case (the lits are lower case).
	fold bool
	// none: no condition was found; every text is tried.
	none bool
}

// maxPrefilterLits bounds the literals of one prefilter: past it, the
// checks cost more than they save.
const maxPrefilterLits = 16

// newPrefilter derives the literals one of which every match of pattern
// contains.
func newPrefilter(pattern string) prefilter {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return prefilter{none: true}
	}
	lits, fold, ok := required(re.Simplify())
	if !ok || len(lits) > maxPrefilterLits {
		return prefilter{none: true}
	}
	if fold {
		for i, l := range lits {
			lits[i] = strings.ToLower(l)
		}
	}
	return prefilter{lits: lits, fold: fold}
}

// mayMatch reports whether s contains one of the literals.
func (f prefilter) mayMatch(s string) bool {
	// Without case, Go's regexp matches "ſ" (U+017F) for s and the
	// Kelvin sign (U+212A) for k, the only letters outside ASCII that fold
	// to ASCII ones: text holding either is always tried.
	if f.none || f.fold && strings.ContainsAny(s, "\u017f\u212a") {
		return true
	}
	for _, l := range f.lits {
		if f.fold && containsFoldASCII(s, l) || !f.fold && strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// mayMatchLower is mayMatch given also lower, s with its ASCII letters
// lower-cased (read only when the filter compares without case): a
// substring search in it costs a fraction of comparing byte by byte.
// special says whether s holds a letter outside ASCII that folds to an
// ASCII one (see hasFoldSpecial).
func (f prefilter) mayMatchLower(s, lower string, special bool) bool {
	if !f.fold {
		return f.mayMatch(s)
	}
	if f.none || special {
		return true
	}
	for _, l := range f.lits {
		if strings.Contains(lower, l) {
			return true
		}
	}
	return false
}

// hasFoldSpecial reports whether s holds "ſ" (U+017F) or the Kelvin sign
// (U+212A): their UTF-8 lead bytes are looked for first, which most
// text lacks.
func hasFoldSpecial(s string) bool {
	return (strings.IndexByte(s, 0xc5) >= 0 || strings.IndexByte(s, 0xe2) >= 0) && strings.ContainsAny(s, "\u017f\u212a")
}

// appendASCIILower appends s with its ASCII letters lower-cased and every
// other byte as it is: byte for byte the text containsFoldASCII compares.
func appendASCIILower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// required returns literals one of which every match of re contains, and
// whether they are to be compared without ASCII case; ok false when there
// is no such set (the expression can match without any literal).
func required(re *syntax.Regexp) (lits []string, fold, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		lit := string(re.Rune)
		fold = re.Flags&syntax.FoldCase != 0
		if fold && !isASCIIString(lit) {
			return nil, false, false // Unicode case folding is not ASCII's
		}
		return []string{lit}, fold, true
	case syntax.OpCharClass:
		// Pairs of bounds; small classes of ASCII characters only.
		for i := 0; i < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if r >= utf8.RuneSelf || len(lits) == maxPrefilterLits {
					return nil, false, false
				}
				lits = append(lits, string(r))
			}
		}
		return lits, false, len(lits) > 0
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false, false
		}
		return required(re.Sub[0])
	case syntax.OpConcat:
		// The child with the longest shortest literal rules out most.
		best := -1
		for _, sub := range re.Sub {
			l, f, ok := required(sub)
			if !ok {
				continue
			}
			if m := shortest(l); m > best {
				best, lits, fold = m, l, f
			}
		}
		return lits, fold, best > 0
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			l, f, ok := required(sub)
			if !ok {
				return nil, false, false
			}
			lits, fold = append(lits, l...), fold || f
		}
		return lits, fold, true
	}
	return nil, false, false
}

func shortest(lits []string) int {
	m := -1
	for _, l := range lits {
		if m < 0 || len(l) < m {
			m = len(l)
		}
	}
	return m
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether s contains lower (lower-case ASCII)
// with ASCII letters of s compared without case.
func containsFoldASCII(s, lower string) bool {
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
