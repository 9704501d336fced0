package feed

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

// utf8BOM is the byte order mark some tools write at the start of UTF-8 text.
const utf8BOM = "\xef\xbb\xbf"

// textReader decodes r from enc (nil means UTF-8) and drops a leading UTF-8
// byte order mark, which would otherwise end up in the first header name or
// break the JSON and XML syntax. It reads nothing until first used.
func textReader(r io.Reader, enc encoding.Encoding) io.Reader {
	if enc != nil {
		r = decoded(enc, r)
	}
	return &bomSkipper{br: bufio.NewReaderSize(r, 64<<10)}
}

// bomSkipper drops a UTF-8 byte order mark on the first read.
type bomSkipper struct {
	br      *bufio.Reader
	checked bool
}

func (b *bomSkipper) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		if head, _ := b.br.Peek(len(utf8BOM)); string(head) == utf8BOM {
			_, _ = b.br.Discard(len(utf8BOM))
		}
	}
	return b.br.Read(p)
}

// maxRaw bounds Record.Raw and RecordError.Raw.
const maxRaw = 256

// excerpt returns s as valid UTF-8 of at most maxRaw bytes, cut at a rune
// boundary. It is the one place that replaces invalid UTF-8 (with U+FFFD):
// an excerpt only shows an operator where a record was, and a record
// holding invalid UTF-8 is rejected, never stored.
func excerpt(s string) string {
	if len(s) <= maxRaw && utf8.ValidString(s) {
		return s
	}
	if len(s) > maxRaw+utf8.UTFMax {
		i := maxRaw + utf8.UTFMax
		// Cut at a rune start so a valid rune is not turned into garbage.
		for j := 0; j < utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]); j++ {
			i--
		}
		s = s[:i]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= maxRaw {
		return s
	}
	i := maxRaw
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// excerptValid is excerpt for s known to be valid UTF-8: then the excerpt
// is a prefix of s, so it costs no allocation.
func excerptValid(s string) string {
	if len(s) <= maxRaw {
		return s
	}
	i := maxRaw
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// rawBuf builds an excerpt piece by piece, ignoring what does not fit.
type rawBuf struct{ b []byte }

func (w *rawBuf) reset() { w.b = w.b[:0] }

// full reports whether more text would be cut anyway.
func (w *rawBuf) full() bool { return len(w.b) > maxRaw+utf8.UTFMax }

func (w *rawBuf) add(s string) {
	if room := maxRaw + 2*utf8.UTFMax - len(w.b); room > 0 {
		if len(s) > room {
			s = s[:room]
		}
		w.b = append(w.b, s...)
	}
}

func (w *rawBuf) String() string { return excerpt(string(w.b)) }

// clean returns s trimmed when trim is set. s is valid UTF-8: every reader
// checks its text (and rejects the record otherwise) before it gets here,
// because replacing invalid bytes would store mojibake silently.
func clean(s string, trim bool) string {
	if trim {
		s = strings.TrimSpace(s)
	}
	return s
}

// maxCachedNames bounds a nameCache: feeds have few distinct field names, so
// a feed producing more is hostile or broken and simply stops being cached.
const maxCachedNames = 4096

// nameCache builds composed field names ("price.amount", "@id") without
// allocating a new string for every record.
type nameCache struct {
	m   map[string]string
	buf []byte
}

func (c *nameCache) join(a, sep, b string) string {
	c.buf = append(append(append(c.buf[:0], a...), sep...), b...)
	if s, ok := c.m[string(c.buf)]; ok {
		return s
	}
	s := string(c.buf)
	if c.m == nil {
		c.m = make(map[string]string)
	}
	if len(c.m) < maxCachedNames {
		c.m[s] = s
	}
	return s
}
