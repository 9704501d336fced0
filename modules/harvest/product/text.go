package product

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// cleanText trims s, collapses every run of whitespace and control
// characters to one space, replaces invalid UTF-8 with U+FFFD, drops
// zero-width junk (BOM, zero-width space) and applies Unicode NFC. Text that
// is already clean — the common case — is returned without allocating.
func cleanText(s string) string {
	s = trimSpace(s) // a substring: padding alone costs no allocation
	tidy, simple := scanText(s)
	if tidy {
		if simple {
			return s
		}
		return norm.NFC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	simple = true
	for i := 0; i < len(s); {
		r, size := decodeRune(s[i:])
		i += size
		switch {
		case r < utf8.RuneSelf && r > ' ' && r != 0x7f, isSimpleRune(r):
			// printable: the common case, checked first
		case r == utf8.RuneError && size == 1:
			// keep the replacement character: it marks where bytes were lost
		case isSpaceOrControl(r):
			space = b.Len() > 0
			continue
		case isInvisible(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
			continue
		}
		simple = simple && isSimpleRune(r)
		b.WriteRune(r)
	}
	if simple {
		return b.String()
	}
	return norm.NFC.String(b.String())
}

// trimSpace is strings.TrimSpace with a shortcut for the common case: text
// that starts and ends with printable ASCII other than a space has nothing
// to trim. (Byte arithmetic wraps, so c-'!' <= '~'-'!' holds exactly for
// '!' <= c <= '~'.)
func trimSpace(s string) string {
	if len(s) > 0 && s[0]-'!' <= '~'-'!' && s[len(s)-1]-'!' <= '~'-'!' {
		return s
	}
	return strings.TrimSpace(s)
}

// scanText reports whether cleanText would leave s unchanged apart from NFC
// (tidy), and whether s is also certainly in NFC (simple) because every
// rune is one that NFC never touches (see isSimpleRune).
func scanText(s string) (tidy, simple bool) {
	if printableOrSpaceASCII(s) {
		// The common case, tested a word at a time: tidy unless a space
		// leads, trails or is doubled.
		if len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ' || strings.Contains(s, "  ")) {
			return false, false
		}
		return true, true
	}
	simple = true
	space := true // so that a leading space is untidy
	for i := 0; i < len(s); {
		if j := skipPrintableASCII(s, i); j > i {
			space = false
			i = j
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c != ' ' || space {
				return false, false // a control character, or a space that is leading or doubled
			}
			space = true
			i++
			continue
		}
		r, size := decodeRune(s[i:])
		i += size
		space = false
		if isSimpleRune(r) {
			continue
		}
		if r == utf8.RuneError && size == 1 || isSpaceOrControl(r) || isInvisible(r) {
			return false, false
		}
		simple = false
	}
	return !space || s == "", simple
}

// skipPrintableASCII returns the index of the first byte at or after i that
// is not printable ASCII other than a space: the bulk of most text.
func skipPrintableASCII(s string, i int) int {
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f {
		i++
	}
	return i
}

// Eight bytes at a time ("SWAR"): the text scans below test a word of
// eight bytes with a few arithmetic operations, and look at single bytes
// only in a word that fails the test.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word (one load, once compiled).
func load8(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// printableOrSpaceASCII reports whether s holds only the bytes ' ' to '~'.
func printableOrSpaceASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if x := load8(s, i); (x|(x+ones)|(x-' '*ones))&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// outsideGraphic is 0 exactly when every byte of x is printable ASCII
// other than a space ('!' to '~'). A byte of 0x80 or more has its high
// bit set; one of 0x7f or more gets it by adding 1, one below '!' by
// subtracting '!'. A carry or borrow crossing into the next byte starts
// only at a byte outside the range, so it can make a word fail the test
// that fails it anyway, never pass one.
func outsideGraphic(x uint64) uint64 {
	return (x | (x + ones) | (x - '!'*ones)) & highs
}

// hasByte is not 0 exactly when some byte of x is b (the classic test for
// a zero byte, applied to x XOR b in every byte).
func hasByte(x uint64, b byte) uint64 {
	y := x ^ uint64(b)*ones
	return (y - ones) & ^y & highs
}

// isSimpleRune reports whether r is a printable, non-space character that
// NFC leaves alone whatever surrounds it: it is a normalisation boundary
// and normalised on its own. The ranges cover Latin-1 letters and symbols,
// Cyrillic without its combining marks, and common punctuation and
// currency signs; TestSimpleRunes checks every rune in them against the
// Unicode tables. Other text takes the slower, exact path.
func isSimpleRune(r rune) bool {
	switch {
	case r >= 0xa1 && r < 0x300 && r != 0xad: // 0xad soft hyphen is a format character
		return true
	case r >= 0x400 && r < 0x483, r >= 0x48a && r < 0x530: // Cyrillic letters
		return true
	case r >= 0x2010 && r < 0x2028, r >= 0x2030 && r < 0x205f: // dashes, quotes, …, ‰
		return true
	case r >= 0x20a0 && r < 0x20c1: // currency signs
		return true
	}
	return false
}

// decodeRune is utf8.DecodeRuneInString with an inlined path for the two-byte
// sequences of Latin, Greek and Cyrillic text, which dominate our feeds.
func decodeRune(s string) (rune, int) {
	if len(s) >= 2 && s[0] >= 0xc2 && s[0] < 0xe0 && s[1]&0xc0 == 0x80 {
		return rune(s[0]&0x1f)<<6 | rune(s[1]&0x3f), 2
	}
	return utf8.DecodeRuneInString(s)
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// isInvisible reports the zero-width characters that feeds leak from word
// processors and BOM-prefixed exports.
func isInvisible(r rune) bool { return r == '\ufeff' || r == '\u200b' }

// truncateRunes shortens s to at most n characters, cutting at a rune
// boundary and dropping a space left dangling at the end. The cut text is
// renormalised, since a cut may strand a combining mark.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s // n bytes hold at least n runes
	}
	count := 0
	for i := range s {
		if count == n {
			return norm.NFC.String(strings.TrimRight(s[:i], " "))
		}
		count++
	}
	return s
}

// runeCountAbove reports whether s has more than n characters.
func runeCountAbove(s string, n int) bool {
	return len(s) > n && utf8.RuneCountInString(s) > n
}

// htmlToText turns an HTML fragment into plain text: tags are removed
// (block-level ones leave a space so words do not run together), script and
// style contents and comments are dropped, and entities are unescaped. The
// result still needs cleanText. Text without '<' or '&' is returned as is.
func htmlToText(s string) string {
	if strings.IndexByte(s, '<') < 0 {
		if strings.IndexByte(s, '&') < 0 {
			return s
		}
		return html.UnescapeString(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '<' || i+1 == len(s) || !isTagStart(s[i+1]) {
			b.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break // an unterminated comment hides the rest
			}
			i += 4 + end + 3
			continue
		}
		end := tagEnd(s[i:])
		if end < 0 {
			b.WriteString(s[i:]) // "<b" without '>' is text, not a tag
			break
		}
		name := tagName(s[i+1 : i+end])
		i += end + 1
		switch {
		case name == "script" || name == "style":
			closing := indexFold(s[i:], "</"+name)
			if closing < 0 {
				i = len(s)
				continue
			}
			i += closing
			if gt := strings.IndexByte(s[i:], '>'); gt >= 0 {
				i += gt + 1
			} else {
				i = len(s)
			}
			b.WriteByte(' ')
		case isBlockTag(name):
			b.WriteByte(' ')
		}
	}
	return html.UnescapeString(b.String())
}

// tagEnd returns the index of the '>' that closes the tag s starts with,
// skipping quoted attribute values, or -1.
func tagEnd(s string) int {
	var q byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return i
		}
	}
	return -1
}

func isTagStart(c byte) bool {
	return c == '/' || c == '!' || c == '?' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// tagName returns the lower-cased element name of a tag's inside ("/P
// class=x" -> "p").
func tagName(tag string) string {
	tag = strings.TrimPrefix(tag, "/")
	end := 0
	for end < len(tag) && (tag[end]|0x20 >= 'a' && tag[end]|0x20 <= 'z' || tag[end] >= '0' && tag[end] <= '9') {
		end++
	}
	name := tag[:end]
	if hasUpper(name) {
		name = strings.ToLower(name)
	}
	return name
}

func isBlockTag(name string) bool {
	switch name {
	case "br", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "td", "th",
		"table", "thead", "tbody", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
		"section", "article", "header", "footer", "blockquote", "pre":
		return true
	}
	return false
}

// indexFold is strings.Index, ignoring ASCII case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
