package feed

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// errJSONSyntax is returned by flattener on text the json package accepted,
// which would be a bug here; it keeps the flattener from ever panicking.
var errJSONSyntax = errors.New("json: unexpected syntax while flattening")

// flattener turns one JSON object, already validated by encoding/json, into
// Fields: nested keys are joined with ".", array elements repeat their name,
// numbers keep their exact text (prices must never pass through float64) and
// nulls and empty strings are dropped.
//
// It scans the text itself rather than using json.Decoder.Token because the
// tokenizer allocates for every token, and this runs for every value of a
// million-record feed. Values are substrings of one string per record.
type flattener struct {
	s      string
	i      int
	fields []Field
	names  nameCache
	raw    rawBuf
	last   int // field count of the previous record, to size the next
}

func (f *flattener) flatten(s string) ([]Field, error) {
	f.s, f.i = s, 0
	f.fields = make([]Field, 0, max(f.last, 8))
	if err := f.value(""); err != nil {
		return nil, err
	}
	f.last = len(f.fields)
	fields := f.fields
	f.fields, f.s = nil, ""
	return fields, nil
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
	if value != "" {
		f.fields = append(f.fields, Field{Name: name, Value: value})
	}
}

func (f *flattener) value(name string) error {
	f.ws()
	if f.i >= len(f.s) {
		return errJSONSyntax
	}
	switch c := f.s[f.i]; c {
	case '{':
		f.i++
		if f.consume('}') {
			return nil
		}
		for {
			f.ws()
			key, err := f.str()
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
			if err := f.value(child); err != nil {
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
			if err := f.value(name); err != nil {
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
		v, err := f.str()
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
		j := f.i
		for j < len(f.s) && strings.IndexByte("+-.eE0123456789", f.s[j]) >= 0 {
			j++
		}
		if j == f.i {
			return errJSONSyntax
		}
		f.add(name, f.s[f.i:j])
		f.i = j
		return nil
	}
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

// str reads a string at f.i. Strings without escapes, nearly all of them,
// are returned as substrings; the rest are unquoted by encoding/json.
func (f *flattener) str() (string, error) {
	if f.i >= len(f.s) || f.s[f.i] != '"' {
		return "", errJSONSyntax
	}
	start := f.i
	escaped := false
	j := f.i + 1
	for ; j < len(f.s); j++ {
		c := f.s[j]
		if c == '\\' {
			escaped = true
			j++
			continue
		}
		if c == '"' {
			break
		}
	}
	if j >= len(f.s) {
		return "", errJSONSyntax
	}
	f.i = j + 1
	if !escaped {
		return clean(f.s[start+1:j], false), nil
	}
	var v string
	if err := json.Unmarshal([]byte(f.s[start:j+1]), &v); err != nil {
		return "", errJSONSyntax
	}
	return v, nil
}

// compact returns an excerpt of JSON text s without the white space between
// tokens, so a pretty-printed record still shows its content.
func (f *flattener) compact(s string) string {
	f.raw.reset()
	inString, escaped := false, false
	start, i := 0, 0
	for ; i < len(s) && len(f.raw.b)+i-start <= maxRaw+utf8.UTFMax; i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			f.raw.add(s[start:i])
			start = i + 1
		}
	}
	if start < i {
		f.raw.add(s[start:i])
	}
	return f.raw.String()
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
