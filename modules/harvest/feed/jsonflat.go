package feed

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// errJSONSyntax is returned by flattener on text that is not JSON. It
// holds the grammar as strictly as json.Valid (FuzzFlattenStrict), so that
// a JSONL line it flattens needs no second pass of encoding/json, but says
// less: the JSONL reader asks encoding/json why.
var errJSONSyntax = errors.New("json: unexpected syntax while flattening")

// flattener turns one JSON object, already validated by encoding/json, into
// Fields: nested keys are joined with ".", array elements repeat their name,
// numbers keep their exact text (prices must never pass through float64) and
// nulls and empty strings are dropped.
//
// It scans the text itself rather than using json.Decoder.Token because the
// tokenizer allocates for every token, and this runs for every value of a
// million-record feed. Values are substrings of one string per record.
//
// It also enforces Options.MaxFieldBytes and Options.MaxDepth and rejects
// strings that are not UTF-8: its errors are reasons for a *RecordError.
type flattener struct {
	op       string // "json" or "jsonl", for messages
	maxField int
	maxDepth int
	s        string
	i        int
	fields   []Field
	err      error // the first field that breaks a bound
	names    nameCache
	raw      rawBuf
}

func newFlattener(op string, opts Options) flattener {
	return flattener{op: op, maxField: opts.fieldLimit(), maxDepth: opts.depthLimit()}
}

// flatten returns the Fields of the JSON object s. They live in f until
// its next flatten.
func (f *flattener) flatten(s string) ([]Field, error) {
	f.s, f.i, f.err = s, 0, nil
	if cap(f.fields) > keptFields {
		f.fields = nil // a very wide record's Fields are not kept for the rest of the feed
	}
	f.fields = f.fields[:0]
	err := f.value("", 0)
	if f.ws(); err == nil && f.i != len(s) {
		err = errJSONSyntax // more after the value
	}
	f.s = ""
	if err == nil {
		err = f.err
	}
	if err != nil {
		return nil, err
	}
	return f.fields, nil
}

func (f *flattener) ws() {
	for f.i < len(f.s) {
		switch f.s[f.i] {
		case ' ', '\t', '\r', '\n':
			f.i++
		default:
			return
		}
	}
}

// consume skips white space and then the byte c, if it is next.
func (f *flattener) consume(c byte) bool {
	f.ws()
	if f.i < len(f.s) && f.s[f.i] == c {
		f.i++
		return true
	}
	return false
}

func (f *flattener) add(name, value string) {
	if len(value) > f.maxField && f.err == nil {
		f.err = fieldTooLarge(f.op, fmt.Sprintf("field %q", name), int64(len(value)), f.maxField)
	}
	if value != "" {
		f.fields = append(f.fields, Field{Name: name, Value: value})
	}
}

// value flattens the value at f.i, named name, inside depth objects or
// arrays of the record (the record itself is at depth 0).
func (f *flattener) value(name string, depth int) error {
	f.ws()
	if f.i >= len(f.s) {
		return errJSONSyntax
	}
	c := f.s[f.i]
	if (c == '{' || c == '[') && depth > f.maxDepth {
		return tooDeep(f.op, "objects or arrays", f.maxDepth)
	}
	switch c {
	case '{':
		f.i++
		if f.consume('}') {
			return nil
		}
		for {
			f.ws()
			key, err := f.str(name, true)
			if err != nil {
				return err
			}
			if !f.consume(':') {
				return errJSONSyntax
			}
			child := key
			if name != "" {
				child = f.names.join(name, ".", key)
			}
			if err := f.value(child, depth+1); err != nil {
				return err
			}
			if f.consume(',') {
				continue
			}
			if f.consume('}') {
				return nil
			}
			return errJSONSyntax
		}
	case '[':
		f.i++
		if f.consume(']') {
			return nil
		}
		for {
			if err := f.value(name, depth+1); err != nil {
				return err
			}
			if f.consume(',') {
				continue
			}
			if f.consume(']') {
				return nil
			}
			return errJSONSyntax
		}
	case '"':
		v, err := f.str(name, false)
		if err != nil {
			return err
		}
		f.add(name, v)
		return nil
	case 't':
		return f.literal(name, "true", true)
	case 'f':
		return f.literal(name, "false", true)
	case 'n':
		return f.literal(name, "null", false)
	default:
		j := numberEnd(f.s, f.i)
		if j < 0 {
			return errJSONSyntax
		}
		f.add(name, f.s[f.i:j])
		f.i = j
		return nil
	}
}

// numberEnd returns where the JSON number at s[i:] ends, or -1 if there is
// none: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(s string, i int) int {
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func (f *flattener) literal(name, lit string, keep bool) error {
	if !strings.HasPrefix(f.s[f.i:], lit) {
		return errJSONSyntax
	}
	f.i += len(lit)
	if keep {
		f.add(name, lit)
	}
	return nil
}

// str reads a string at f.i: a key in the object called name if key is
// set, else the value of field name. Strings without escapes, nearly all of
// them, are returned as substrings; the rest are unquoted by encoding/json.
// Strings that are not UTF-8 are an error, never replaced.
func (f *flattener) str(name string, key bool) (string, error) {
	if f.i >= len(f.s) || f.s[f.i] != '"' {
		return "", errJSONSyntax
	}
	start := f.i
	escaped := false
	var high byte // the bits of every byte: 0x80 is set past ASCII
	j := f.i + 1
	for ; j < len(f.s); j++ {
		c := f.s[j]
		high |= c
		if c == '\\' {
			escaped = true
			j++
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			return "", errJSONSyntax // a control character must be escaped
		}
	}
	if j >= len(f.s) {
		return "", errJSONSyntax
	}
	f.i = j + 1
	text := f.s[start+1 : j]
	if high >= utf8.RuneSelf && !utf8.ValidString(text) {
		return "", invalidUTF8(f.op, f.what(name, key), invalidAt(text))
	}
	if !escaped {
		return text, nil
	}
	v, ok, lone := unquote(text)
	if !ok {
		return "", errJSONSyntax
	}
	// A \u escape of a lone UTF-16 surrogate (which encoding/json turns
	// into U+FFFD) is text in no encoding, never to be stored as is.
	if lone {
		return "", reason(ErrInvalidUTF8, "%s: %s: a \\u escape of a lone UTF-16 surrogate, which is no character", f.op, f.what(name, key))
	}
	return v, nil
}

// unquote decodes the escapes in text, a JSON string's valid UTF-8 between
// its quotes. ok is false for an escape JSON does not have; lone reports a
// \u escape of a lone UTF-16 surrogate. FuzzUnquote holds it to
// encoding/json.
func unquote(text string) (v string, ok, lone bool) {
	b := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		n := strings.IndexByte(text[i:], '\\')
		if n < 0 {
			b = append(b, text[i:]...)
			break
		}
		b = append(b, text[i:i+n]...)
		i += n
		if i+1 >= len(text) {
			return "", false, false
		}
		c := text[i+1]
		i += 2
		switch {
		case jsonEscapes[c] != 0:
			b = append(b, jsonEscapes[c])
		case c == 'u':
			r, ok := hex4(text[i:])
			if !ok {
				return "", false, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(strings.TrimPrefix(text[i:], `\u`)); ok && strings.HasPrefix(text[i:], `\u`) {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						b = utf8.AppendRune(b, pair)
						i += 6
						continue
					}
				}
				lone = true
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false, false
		}
	}
	return string(b), true, lone
}

// jsonEscapes maps the byte after a backslash to the byte it stands for,
// but for \u; 0 marks no escape.
var jsonEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 reads the four hexadecimal digits s starts with.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// what names the string str reads, for messages.
func (f *flattener) what(name string, key bool) string {
	switch {
	case key && name == "":
		return "a key"
	case key:
		return fmt.Sprintf("a key in field %q", name)
	}
	return fmt.Sprintf("field %q", name)
}

// flatRaw is the Raw of an element flatten accepted (so valid UTF-8): the
// text as it is when its start holds no line break or tab, as in an array
// with a record to a line, else compacted, so that a pretty-printed record
// still shows its content. Compacting every element cost a seventh of
// reading it, for the rejects alone.
func (f *flattener) flatRaw(s string) string {
	head := s[:min(len(s), maxRaw)]
	if strings.IndexByte(head, '\n') < 0 && strings.IndexByte(head, '\r') < 0 && strings.IndexByte(head, '\t') < 0 {
		return excerptValid(s)
	}
	return f.compact(s)
}

// compact returns an excerpt of JSON text s without the white space between
// tokens, so a pretty-printed record still shows its content.
func (f *flattener) compact(s string) string {
	f.raw.reset()
	start, i := 0, 0
	for i < len(s) && len(f.raw.b)+i-start <= maxRaw+utf8.UTFMax {
		switch c := s[i]; c {
		case '"':
			i = stringEnd(s, i+1)
		case ' ', '\t', '\r', '\n':
			f.raw.add(s[start:i])
			for i++; i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'); i++ {
			}
			start = i
		default:
			i++
		}
	}
	if start < min(i, len(s)) {
		f.raw.add(s[start:min(i, len(s))])
	}
	return f.raw.String()
}

// stringEnd returns the index after the quote that ends the JSON string
// whose text starts at s[i], or len(s).
func stringEnd(s string, i int) int {
	for {
		k := strings.IndexByte(s[i:], '"')
		if k < 0 {
			return len(s)
		}
		i += k
		// The quote is escaped if an odd number of backslashes precede it.
		n := 0
		for n < i && s[i-1-n] == '\\' {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// jsonKind names the kind of JSON value starting with c, for messages.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
