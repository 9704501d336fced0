package feed

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// xmlFast builds the Fields of one record element from its text, as
// readRecord does with encoding/xml, for the XML most feeds are written in:
// elements, attributes, character and entity references, CDATA sections
// and comments, with every bound kept. Whatever else it meets (a
// processing instruction or declaration inside a record, a name or an
// entity it does not know, anything encoding/xml would refuse, a value
// over a bound, bytes that are not UTF-8) it leaves to readRecord, by
// returning false: so what it does return is what readRecord would
// (FuzzXMLFast holds it to that). It is a Finisher's, so records are built
// on the normalising goroutines, at a tenth of encoding/xml's cost.
type xmlFast struct {
	names  nameCache
	stack  []xmlFrame
	own    []byte
	fields []Field
	val    []byte // an attribute's value
	// texts holds the values that are not a part of the record's text
	// as they are (a reference replaced, a line end made "\n").
	texts    textSlab
	maxField int
	maxDepth int
	// yml applies YML's rules to an offer's children (ymlState.child):
	// <param> makes "param:<name>", and a <description> holding markup
	// is left to encoding/xml, which keeps the markup as text.
	yml bool
}

// xmlFastOK tells, for each byte, whether it may appear in a record the
// fast path reads without a closer look: control characters but tab, line
// feed and carriage return may not (encoding/xml refuses them), nor bytes
// past ASCII (their UTF-8 is checked once for the record).
var xmlFastOK = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	return t
}()

// parse returns the record element s's Fields, or false.
func (p *xmlFast) parse(s, record string) ([]Field, bool) {
	if !validXMLChars(s) {
		return nil, false
	}
	p.fields = p.fields[:0]
	p.stack = p.stack[:0]
	p.own = p.own[:0]
	if len(s) == 0 || s[0] != '<' {
		return nil, false
	}
	i, tag, local, ok := tagName(s, 1)
	if !ok || local != record {
		return nil, false
	}
	i, empty, ok := p.attrs(s, i, "", nil)
	if !ok {
		return nil, false
	}
	if empty {
		return p.finish(s, i)
	}
	for {
		// Text up to the next markup.
		j := strings.IndexByte(s[i:], '<')
		if j < 0 || i+j+1 >= len(s) {
			return nil, false
		}
		if j > 0 && !p.text(s[i:i+j]) {
			return nil, false
		}
		i += j
		switch s[i+1] {
		case '/':
			next, name, ok := endTag(s, i+2)
			if !ok {
				return nil, false
			}
			n := len(p.stack)
			if n == 0 {
				if name != tag {
					return nil, false
				}
				return p.finish(s, next)
			}
			top := &p.stack[n-1]
			if name != top.tag {
				return nil, false
			}
			p.close(top)
			p.stack = p.stack[:n-1]
			i = next
		case '!':
			if i, ok = p.bang(s, i); !ok {
				return nil, false
			}
		case '?':
			return nil, false
		default:
			n := len(p.stack)
			if n >= p.maxDepth || n > 0 && p.stack[n-1].opaque > 0 {
				return nil, false
			}
			var ctag, clocal string
			if i, ctag, clocal, ok = tagName(s, i+1); !ok {
				return nil, false
			}
			name := clocal
			if n > 0 {
				name = p.names.join(p.stack[n-1].name, ".", clocal)
			}
			f := p.push(name)
			f.tag = ctag
			var param *xmlFrame
			if p.yml && n == 0 {
				switch clocal {
				case "param":
					f.param, param = true, f
				case "description":
					f.opaque = 1
				}
			}
			var empty bool
			if i, empty, ok = p.attrs(s, i, name, param); !ok {
				return nil, false
			}
			if empty {
				p.close(&p.stack[n])
				p.stack = p.stack[:n]
			}
		}
	}
}

// push opens a frame.
func (p *xmlFast) push(name string) *xmlFrame {
	p.stack = pushFrame(p.stack, name)
	return &p.stack[len(p.stack)-1]
}

// close adds the field of an element that just ended, as closeFrame does.
func (p *xmlFast) close(f *xmlFrame) {
	var v string
	if f.verbatim {
		v = strings.TrimSpace(f.src)
	} else if text := bytes.TrimSpace(f.text); len(text) > 0 {
		v = p.texts.text(text)
	}
	switch {
	case v == "":
	case f.param:
		name := "param"
		if f.paramName != "" {
			name = p.names.join("param", ":", f.paramName)
		}
		if f.unit != "" {
			v += " " + f.unit
		}
		p.fields = append(p.fields, Field{Name: name, Value: v})
	default:
		p.fields = append(p.fields, Field{Name: f.name, Value: v})
	}
}

// finish completes the record ending at s[:i], as xmlReader.finish does.
func (p *xmlFast) finish(s string, i int) ([]Field, bool) {
	if i != len(s) {
		return nil, false
	}
	if text := bytes.TrimSpace(p.own); len(text) > 0 {
		p.fields = append(p.fields, Field{Name: "#text", Value: clean(string(text), false)})
	}
	return p.fields, true
}

// tagName reads the name of a tag starting at s[i], as encoding/xml does:
// a run of name bytes, with at most one colon between a prefix and the
// local name. Names past ASCII are left to encoding/xml.
func tagName(s string, i int) (next int, name, local string, ok bool) {
	from, colon, colons := i, -1, 0
	for ; i < len(s) && isNameByte(s[i]); i++ {
		if s[i] == ':' {
			colon = i
			colons++
		}
	}
	if i == from || i < len(s) && s[i] >= utf8.RuneSelf || colons > 1 {
		return 0, "", "", false
	}
	// The first byte of a name is a letter, '_' or ':'.
	if c := s[from]; '0' <= c && c <= '9' || c == '.' || c == '-' {
		return 0, "", "", false
	}
	name = s[from:i]
	if colon <= from || colon == i-1 {
		return i, name, name, true // no prefix, or an empty part: the whole is local
	}
	return i, name, s[colon+1 : i], true
}

// isNameByte is encoding/xml's: the ASCII bytes of a name.
func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// skipSpace skips XML white space from s[i].
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// attrs reads the attributes of a start tag from s[i], after its name, up
// to and including its end, and adds them as fields of the element called
// elem ("" for the record), or, for a YML <param>, takes its name and unit
// from them. empty reports a tag that closes itself.
func (p *xmlFast) attrs(s string, i int, elem string, param *xmlFrame) (next int, empty, ok bool) {
	for {
		i = skipSpace(s, i)
		if i >= len(s) {
			return 0, false, false
		}
		switch s[i] {
		case '>':
			return i + 1, false, true
		case '/':
			if i+1 < len(s) && s[i+1] == '>' {
				return i + 2, true, true
			}
			return 0, false, false
		}
		var name, local string
		if i, name, local, ok = tagName(s, i); !ok {
			return 0, false, false
		}
		prefix := ""
		if local != name {
			prefix = name[:len(name)-len(local)-1]
		}
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != '=' {
			return 0, false, false
		}
		i = skipSpace(s, i+1)
		if i >= len(s) || s[i] != '"' && s[i] != '\'' {
			return 0, false, false
		}
		q := strings.IndexByte(s[i+1:], s[i])
		if q < 0 {
			return 0, false, false
		}
		value := s[i+1 : i+1+q]
		i += q + 2
		if len(value) > p.maxField || strings.IndexByte(value, '<') >= 0 {
			return 0, false, false
		}
		switch {
		case local == "xmlns" && prefix != "":
			// a:xmlns is a namespace declaration too, should xmlns:a=""
			// bind a to no space.
			return 0, false, false
		case param != nil:
			// ymlState.child: every attribute is the param's, by its
			// local name, a namespace declaration's too.
			if local != "name" && local != "unit" {
				continue
			}
		case prefix == "xmlns" || prefix == "" && local == "xmlns":
			continue // a namespace declaration is not data
		}
		v := value // most are, a part of the record's text
		if strings.IndexByte(value, '&') >= 0 || strings.IndexByte(value, '\r') >= 0 {
			if p.val, ok = appendText(p.val[:0], value); !ok {
				return 0, false, false
			}
			v = p.texts.text(p.val)
		}
		if param != nil {
			if local == "name" {
				param.paramName = clean(v, true)
			} else {
				param.unit = clean(v, true)
			}
			continue
		}
		if v := clean(v, true); v != "" {
			p.fields = append(p.fields, Field{Name: p.names.join(elem, "@", local), Value: v})
		}
	}
}

// text adds a run of character data to the open element's text.
func (p *xmlFast) text(s string) bool {
	if len(s) > p.maxField || strings.Contains(s, "]]>") {
		return false
	}
	ok := true
	if n := len(p.stack); n > 0 {
		f := &p.stack[n-1]
		if !f.verbatim && len(f.text) == 0 && strings.IndexByte(s, '&') < 0 && strings.IndexByte(s, '\r') < 0 {
			f.src, f.verbatim = s, true // the common case: kept as it is
			return true
		}
		f.text, ok = appendText(f.built(), s)
	} else {
		p.own, ok = appendText(p.own, s)
	}
	return ok
}

// built returns f's text, copying a verbatim one into it first.
func (f *xmlFrame) built() []byte {
	if f.verbatim {
		f.text = append(f.text[:0], f.src...)
		f.src, f.verbatim = "", false
	}
	return f.text
}

// bang reads the comment or CDATA section at s[i] ("<!"), adding a CDATA
// section's text to the open element's.
func (p *xmlFast) bang(s string, i int) (int, bool) {
	switch {
	case strings.HasPrefix(s[i:], "<!--"):
		body := i + len("<!--")
		j := strings.Index(s[body:], "--")
		if j < 0 || j > p.maxField || body+j+2 >= len(s) || s[body+j+2] != '>' {
			return 0, false
		}
		return body + j + 3, true
	case strings.HasPrefix(s[i:], "<![CDATA["):
		body := i + len("<![CDATA[")
		j := strings.Index(s[body:], "]]>")
		// xmlInput counts the "]]" that ends a section against the
		// bound: so does this.
		if j < 0 || j+2 > p.maxField {
			return 0, false
		}
		data := s[body : body+j]
		if n := len(p.stack); n > 0 {
			p.stack[n-1].text = appendNewlines(p.stack[n-1].built(), data)
		} else {
			p.own = appendNewlines(p.own, data)
		}
		return body + j + 3, true
	}
	return 0, false
}

// endTag reads an end tag from s[i], after "</".
func endTag(s string, i int) (next int, name string, ok bool) {
	i, name, _, ok = tagName(s, i)
	if !ok {
		return 0, "", false
	}
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != '>' {
		return 0, "", false
	}
	return i + 1, name, true
}

// appendNewlines appends s to b with its line ends made line feeds, as
// encoding/xml does: "\r\n" and a lone "\r" become "\n".
func appendNewlines(b []byte, s string) []byte {
	for {
		j := strings.IndexByte(s, '\r')
		if j < 0 {
			return append(b, s...)
		}
		b = append(append(b, s[:j]...), '\n')
		s = s[j+1:]
		if len(s) > 0 && s[0] == '\n' {
			s = s[1:]
		}
	}
}

// appendText appends character data s to b, with its references replaced
// and its line ends made line feeds, as encoding/xml's Decoder (with
// xml.HTMLEntity) does; false for a reference it would refuse, or one it
// would take but that is not checked here.
func appendText(b []byte, s string) ([]byte, bool) {
	for {
		j := strings.IndexByte(s, '&')
		if j < 0 {
			return appendNewlines(b, s), true
		}
		b = appendNewlines(b, s[:j])
		s = s[j+1:]
		end := strings.IndexByte(s, ';')
		if end <= 0 || end > maxEntity {
			return b, false
		}
		ref := s[:end]
		s = s[end+1:]
		if ref[0] == '#' {
			r, ok := charRef(ref[1:])
			if !ok {
				return b, false
			}
			b = utf8.AppendRune(b, r)
			continue
		}
		if !asciiName(ref) {
			return b, false
		}
		switch ref {
		case "lt":
			b = append(b, '<')
		case "gt":
			b = append(b, '>')
		case "amp":
			b = append(b, '&')
		case "apos":
			b = append(b, '\'')
		case "quot":
			b = append(b, '"')
		default:
			v, ok := xml.HTMLEntity[ref]
			if !ok {
				return b, false
			}
			b = append(b, v...)
		}
	}
}

// charRef decodes the digits of a character reference ("38", "x26"), if
// encoding/xml would and the character is one XML allows.
func charRef(d string) (rune, bool) {
	base := 10
	if len(d) > 0 && d[0] == 'x' {
		base, d = 16, d[1:]
	}
	if d == "" || len(d) > 8 {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(d, base, 32)
	if err != nil || n > unicode.MaxRune {
		return 0, false
	}
	r := rune(n)
	if !utf8.ValidRune(r) || !isInCharacterRange(r) {
		return 0, false // encoding/xml would make U+FFFD of a surrogate: rare enough to leave to it
	}
	return r, true
}

// asciiName reports whether s is an XML name of ASCII letters, digits and
// "_:.-", starting with a letter, '_' or ':'.
func asciiName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isNameByte(c) || i == 0 && ('0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return len(s) > 0
}

// isInCharacterRange is encoding/xml's: the characters XML allows.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// validXMLChars reports whether s is UTF-8 holding only characters XML
// allows (and no U+FFFD, which only encoding/xml tells from bytes that
// are not UTF-8).
func validXMLChars(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < len(s); {
		// Eight bytes at a time while none is a control character or past
		// ASCII: the common case.
		if i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if (w|(w-0x20*ones))&highs == 0 {
				i += 8
				continue
			}
		}
		if c := s[i]; c < utf8.RuneSelf {
			if !xmlFastOK[c] {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !isInCharacterRange(r) {
			return false
		}
		i += size
	}
	return true
}
