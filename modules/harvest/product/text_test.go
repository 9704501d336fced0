package product

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"clean ascii", "Hammer 3000", "Hammer 3000"},
		{"clean cyrillic", "Молоток", "Молоток"},
		{"trim", "  Hammer \t", "Hammer"},
		{"collapse runs", "Big   red\n\nhammer", "Big red hammer"},
		{"no-break and ideographic spaces", "a\u00a0\u3000b", "a b"},
		{"control characters become space", "a\x00b\x07c", "a b c"},
		{"invalid UTF-8 replaced", "a\xffb", "a\ufffdb"},
		{"BOM and zero-width space dropped", "\ufeffab\u200bc", "abc"},
		{"NFC composes", "e\u0301", "\u00e9"},
		{"NFC composes cyrillic", "Мои\u0306 дом", "Мой дом"},
		{"only whitespace", " \t\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(tt.in); got != tt.want {
				t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanTextNoAllocsWhenClean(t *testing.T) {
	for _, s := range []string{"Hammer 3000", "Смартфон Apple iPhone 15"} {
		if n := testing.AllocsPerRun(100, func() { _ = cleanText(s) }); n != 0 {
			t.Errorf("cleanText(%q) allocates %.0f times", s, n)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "plain text", "plain text"},
		{"inline tags vanish", "<b>bold</b>ly", "boldly"},
		{"block tags separate words", "<p>one</p><p>two</p>", "one two"},
		{"line break", "one<br/>two", "one two"},
		{"quoted attributes", `<a href="x.html" title='a>b'>link</a>`, "link"},
		{"entities", "Tom &amp; Jerry &lt;3 &nbsp;ok", "Tom & Jerry <3 ok"},
		{"escaped tags stay text", "&lt;b&gt;", "<b>"},
		{"comment", "a<!-- <p>hidden</p> -->b", "ab"},
		{"unterminated comment", "a<!-- hidden", "a"},
		{"script dropped", "a<script>alert('<x>')</script>b", "a b"},
		{"style dropped, any case", "a<STYLE>p{}</Style>b", "a b"},
		{"unterminated script", "a<script>x", "a"},
		{"less-than is text", "a < b and 3<5", "a < b and 3<5"},
		{"unterminated tag is text", "size <b", "size <b"},
		{"trailing angle", "a<", "a<"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(htmlToText(tt.in)); got != tt.want {
				t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"ascii", "abcdef", 3, "abc"},
		{"multibyte kept whole", "жжжж", 3, "жжж"},
		{"dangling space dropped", "ab cd", 3, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncateRunes(tt.in, tt.n); got != tt.want {
				t.Errorf("truncateRunes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
	if got := truncateRunes(strings.Repeat("я", MaxNameLen+10), MaxNameLen); len([]rune(got)) != MaxNameLen {
		t.Errorf("truncated to %d runes, want %d", len([]rune(got)), MaxNameLen)
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("x", 100)
	if got, want := quote(long), `"`+strings.Repeat("x", maxQuoted)+`…"`; got != want {
		t.Errorf("quote(long) = %s, want %s", got, want)
	}
	if got := quote("a\"b"); got != `"a\"b"` {
		t.Errorf("quote = %s", got)
	}
}

// TestSimpleRunes checks that cleanText may skip NFC and the whitespace
// checks for every rune isSimpleRune accepts.
func TestSimpleRunes(t *testing.T) {
	for r := rune(0); r < 0x3000; r++ {
		if !isSimpleRune(r) {
			continue
		}
		s := string(r)
		props := norm.NFC.PropertiesString(s)
		if !norm.NFC.IsNormalString(s) || !props.BoundaryBefore() || props.CCC() != 0 {
			t.Errorf("%U is not NFC-inert", r)
		}
		if isSpaceOrControl(r) || isInvisible(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r) {
			t.Errorf("%U is space, control, format or unprintable", r)
		}
	}
}

func TestDecodeRune(t *testing.T) {
	for _, s := range []string{"a", "é", "я", "\u07ff", "€", "😀", "\xc2", "\xc2a", "\xc0\x80", "\xc1\xbf", "\xdf\xbf", "\xe0\x80", ""} {
		r, n := decodeRune(s)
		wr, wn := utf8.DecodeRuneInString(s)
		if r != wr || n != wn {
			t.Errorf("decodeRune(%q) = %U, %d; want %U, %d", s, r, n, wr, wn)
		}
	}
}

// TestSkipBytesWordAtATime holds the word-at-a-time scans to byte loops: every byte value, and every pair of adjacent values (where a
// carry or borrow could cross from one byte into the next), at positions
// in the first and the second word and in the tail.
func TestSkipBytesWordAtATime(t *testing.T) {
	naivePrintable := func(s string, i int) int {
		for i < len(s) && s[i] > ' ' && s[i] < 0x7f {
			i++
		}
		return i
	}
	naiveURL := func(s string, i int) int {
		for i < len(s) && s[i] > ' ' && s[i] < 0x7f && s[i] != '|' {
			i++
		}
		return i
	}
	check := func(s string) {
		t.Helper()
		want := true
		for i := range len(s) {
			want = want && s[i] >= ' ' && s[i] <= '~'
		}
		if got := printableOrSpaceASCII(s); got != want {
			t.Fatalf("printableOrSpaceASCII(%q) = %v", s, got)
		}
		for from := range min(len(s), 3) {
			if got, want := skipPrintableASCII(s, from), naivePrintable(s, from); got != want {
				t.Fatalf("skipPrintableASCII(%q, %d) = %d, want %d", s, from, got, want)
			}
			if got, want := skipURLBytes(s, from), naiveURL(s, from); got != want {
				t.Fatalf("skipURLBytes(%q, %d) = %d, want %d", s, from, got, want)
			}
		}
	}
	base := []byte("abcdefghijklmnopqrstuvwxy")
	for _, at := range []int{0, 3, 7, 8, 12, 15, 16, 23} {
		for a := range 256 {
			b := slices.Clone(base)
			b[at] = byte(a)
			check(string(b))
			for c := range 256 {
				b[at+1] = byte(c)
				check(string(b))
			}
		}
	}
	check("")
	check("short")
}
