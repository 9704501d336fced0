package gardener

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"unicode/utf8"
)

// jsonEqual reports whether a value stored in jsonb (a, in PostgreSQL's
// spelling) holds the same value as an enricher's JSON (b), as jsonb
// compares them: key order, spacing and number spelling (1.0, 1) do not
// matter. Most values differ from their stored spelling only in key order
// and spacing, so b is first respelled as jsonb prints it; only values
// that cannot be (exponents) are decoded and compared.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if s, ok := jsonbText(b); ok {
		return bytes.Equal(a, s)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// jsonbText respells compact JSON as PostgreSQL prints jsonb: object keys
// ordered by length, then bytes (the last of equal keys wins), ", " and
// ": " between items, strings with only ", \ and control characters
// escaped. false when the text is not JSON or holds a number jsonb would
// print otherwise (with an exponent, or -0).
func jsonbText(b []byte) ([]byte, bool) {
	p := jsonbPrinter{in: b}
	if err := p.value(); err != nil {
		return nil, false
	}
	if p.skipSpace(); p.i != len(p.in) {
		return nil, false
	}
	return p.out, true
}

type jsonbPrinter struct {
	in  []byte
	i   int
	out []byte
}

var errNotJSONB = fmt.Errorf("not respellable as jsonb")

func (p *jsonbPrinter) skipSpace() {
	for p.i < len(p.in) && (p.in[p.i] == ' ' || p.in[p.i] == '\t' || p.in[p.i] == '\n' || p.in[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonbPrinter) value() error {
	p.skipSpace()
	if p.i >= len(p.in) {
		return errNotJSONB
	}
	switch c := p.in[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		p.out = appendJSONBString(p.out, s)
		return nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(p.in[p.i:], []byte(lit)) {
				p.out = append(p.out, lit...)
				p.i += len(lit)
				return nil
			}
		}
		return errNotJSONB
	default:
		start := p.i
		for p.i < len(p.in) && bytes.IndexByte([]byte("+-0123456789.eE"), p.in[p.i]) >= 0 {
			p.i++
		}
		num := p.in[start:p.i]
		if len(num) == 0 || bytes.ContainsAny(num, "eE+") || isNegativeZero(num) {
			return errNotJSONB
		}
		if _, err := strconv.ParseFloat(string(num), 64); err != nil {
			return errNotJSONB
		}
		p.out = append(p.out, num...)
		return nil
	}
}

func isNegativeZero(num []byte) bool {
	return num[0] == '-' && bytes.Trim(num[1:], "0.") == nil
}

type member struct {
	key string
	val []byte
}

func (p *jsonbPrinter) object() error {
	p.i++ // {
	var ms []member
	for {
		p.skipSpace()
		if p.i < len(p.in) && p.in[p.i] == '}' && len(ms) == 0 {
			p.i++
			break
		}
		if p.i >= len(p.in) || p.in[p.i] != '"' {
			return errNotJSONB
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		if p.skipSpace(); p.i >= len(p.in) || p.in[p.i] != ':' {
			return errNotJSONB
		}
		p.i++
		outer := p.out
		p.out = nil
		if err := p.value(); err != nil {
			return err
		}
		ms = append(ms, member{k, p.out})
		p.out = outer
		if p.skipSpace(); p.i < len(p.in) && p.in[p.i] == ',' {
			p.i++
			continue
		}
		if p.i >= len(p.in) || p.in[p.i] != '}' {
			return errNotJSONB
		}
		p.i++
		break
	}
	// jsonb keeps the last of equal keys; a stable sort keeps their order.
	sort.SliceStable(ms, func(i, j int) bool {
		if len(ms[i].key) != len(ms[j].key) {
			return len(ms[i].key) < len(ms[j].key)
		}
		return ms[i].key < ms[j].key
	})
	p.out = append(p.out, '{')
	n := 0
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue
		}
		if n > 0 {
			p.out = append(p.out, ", "...)
		}
		n++
		p.out = appendJSONBString(p.out, m.key)
		p.out = append(p.out, ": "...)
		p.out = append(p.out, m.val...)
	}
	p.out = append(p.out, '}')
	return nil
}

func (p *jsonbPrinter) array() error {
	p.i++ // [
	p.out = append(p.out, '[')
	for n := 0; ; n++ {
		p.skipSpace()
		if p.i < len(p.in) && p.in[p.i] == ']' && n == 0 {
			p.i++
			break
		}
		if n > 0 {
			p.out = append(p.out, ", "...)
		}
		if err := p.value(); err != nil {
			return err
		}
		if p.skipSpace(); p.i < len(p.in) && p.in[p.i] == ',' {
			p.i++
			continue
		}
		if p.i >= len(p.in) || p.in[p.i] != ']' {
			return errNotJSONB
		}
		p.i++
		break
	}
	p.out = append(p.out, ']')
	return nil
}

// str decodes the JSON string at p.i.
func (p *jsonbPrinter) str() (string, error) {
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.in) {
		switch p.in[p.i] {
		case '\\':
			p.i += 2
			escaped = true
		case '"':
			p.i++
			if raw := p.in[start+1 : p.i-1]; !escaped && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.in[start:p.i], &s); err != nil {
				return "", errNotJSONB
			}
			return s, nil
		default:
			p.i++
		}
	}
	return "", errNotJSONB
}

// appendJSONBString appends s quoted as PostgreSQL's escape_json does.
func appendJSONBString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			out = append(out, `\"`...)
		case c == '\\':
			out = append(out, `\\`...)
		case c == '\b':
			out = append(out, `\b`...)
		case c == '\f':
			out = append(out, `\f`...)
		case c == '\n':
			out = append(out, `\n`...)
		case c == '\r':
			out = append(out, `\r`...)
		case c == '\t':
			out = append(out, `\t`...)
		case c < 0x20:
			out = fmt.Appendf(out, `\u%04x`, c)
		case c < utf8.RuneSelf:
			out = append(out, c)
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			out = append(out, s[i:i+n]...)
			i += n
			continue
		}
		i++
	}
	return append(out, '"')
}
