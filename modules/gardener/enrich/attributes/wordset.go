package attributes

import (
	"regexp/syntax"
)

// wordSet matches a pattern of the shape \b(w1|w2|…)\b whose words are
// made of ASCII word characters only, compared with case: the first match
// of such a pattern is the first maximal run of word characters that is
// one of the words. Looking runs up in a set costs a fraction of running
// the regexp, which tries each alternative at every position.
type wordSet map[string]struct{}

// maxWordSet bounds the words a pattern may expand to.
const maxWordSet = 64

// newWordSet returns the pattern's words, or nil when the pattern is not
// of that shape (it is then matched by its regexp).
func newWordSet(pattern string) wordSet {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 ||
		re.Sub[0].Op != syntax.OpWordBoundary || re.Sub[2].Op != syntax.OpWordBoundary || re.Sub[1].Op != syntax.OpCapture {
		return nil
	}
	words, ok := finite(re.Sub[1].Sub[0])
	if !ok || len(words) == 0 {
		return nil
	}
	set := make(wordSet, len(words))
	for _, w := range words {
		if w == "" {
			return nil
		}
		for i := 0; i < len(w); i++ {
			if !isWordByte(w[i]) {
				return nil
			}
		}
		set[w] = struct{}{}
	}
	return set
}

// finite returns every string re matches, when they are few and re
// compares with case.
func finite(re *syntax.Regexp) ([]string, bool) {
	if re.Flags&syntax.FoldCase != 0 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == maxWordSet {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpCapture:
		return finite(re.Sub[0])
	case syntax.OpQuest:
		sub, ok := finite(re.Sub[0])
		return append(sub, ""), ok && len(sub) < maxWordSet
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			sub, ok := finite(s)
			if !ok || len(out)+len(sub) > maxWordSet {
				return nil, false
			}
			out = append(out, sub...)
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			sub, ok := finite(s)
			if !ok || len(out)*len(sub) > maxWordSet {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(sub))
			for _, a := range out {
				for _, b := range sub {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// isWordByte: \b's word characters are ASCII letters, digits and '_'; any
// byte of a multi-byte character is outside them, as the character is.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// wordFilter has bit n of [c] set when a word of a set begins with byte c
// and is n bytes long (63: longer): most runs of a text are ruled out by
// it without hashing them.
type wordFilter [256]uint64

func (ws wordSet) filter() *wordFilter {
	var f wordFilter
	for w := range ws {
		f[w[0]] |= lenBit(len(w))
	}
	return &f
}

// findFiltered returns the first run of word characters in s that is in
// the set; the runs f rules out are never looked up.
func (ws wordSet) findFiltered(s string, f *wordFilter) (string, bool) {
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		if f[s[i]]&lenBit(j-i) != 0 {
			if _, ok := ws[s[i:j]]; ok {
				return s[i:j], true
			}
		}
		i = j
	}
	return "", false
}
