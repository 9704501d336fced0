package gardener

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// jsonEqual reports whether a value stored in jsonb (a, in PostgreSQL's
// spelling) holds the same value as an enricher's JSON (b), as jsonb
// compares them: key order, spacing and number spelling (1.0, 1) do not
// matter. Most values differ from their stored spelling only in key order
// and spacing, so b is first respelled as jsonb prints it; only values
// that cannot be (exponents) are decoded and compared.
func jsonEqual(a, b json.RawMessage) bool {
	var p jsonbPrinter
	return p.equal(a, b)
}

// equal is jsonEqual with p's buffers, reused from one call to the next:
// a diff compares every stored field of a batch.
func (p *jsonbPrinter) equal(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) || spacedEqual(a, b) {
		return true
	}
	if s, ok := p.print(b); ok {
		return bytes.Equal(a, s)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// spacedEqual reports whether a is b but for a space after some of the
// commas and colons between b's items, as jsonb prints them: the same
// tokens, so the same value. An enricher that writes its object's keys in
// jsonb's order (by length, then bytes) and escapes its strings as jsonb
// does is so found equal without respelling, which was 16% of
// BenchmarkSparseBatch's CPU profile (a sparse batch's enrichers and
// diff). false says nothing: the values may still be equal.
func spacedEqual(a, b []byte) bool {
	i, j := 0, 0
	inString := false
	for i < len(a) && j < len(b) {
		c := a[i]
		if c != b[j] {
			if !inString && c == ' ' && i > 0 && (a[i-1] == ',' || a[i-1] == ':') {
				i++
				continue
			}
			return false
		}
		switch {
		case inString && c == '\\':
			// An escape: the byte after the backslash is the same in both
			// too, and ends nothing.
			if i+1 == len(a) || j+1 == len(b) || a[i+1] != b[j+1] {
				return false
			}
			i++
			j++
		case c == '"':
			inString = !inString
		}
		i++
		j++
	}
	return i == len(a) && j == len(b)
}

// jsonbText respells compact JSON as PostgreSQL prints jsonb: object keys
// ordered by length, then bytes (the last of equal keys wins), ", " and
// ": " between items, strings with only ", \ and control characters
// escaped. false when the text is not JSON or holds a number jsonb would
// print otherwise (with an exponent, or -0).
func jsonbText(b []byte) ([]byte, bool) {
	var p jsonbPrinter
	s, ok := p.print(b)
	return bytes.Clone(s), ok
}

// jsonbPrinter respells JSON as jsonb prints it, into scratch: the values
// of an object's members are printed first, then the object from them in
// order of their keys. What is printed stays as it is until the next
// print, except the members' values of an object in an array, which the
// object then overwrites.
type jsonbPrinter struct {
	in      []byte
	i       int
	scratch []byte
	members []member
}

// member is a key of an object being printed, decoded, and its value as
// printed.
type member struct {
	key, val []byte
}

var errNotJSONB = fmt.Errorf("not respellable as jsonb")

// print returns b respelled, in p's scratch: valid until the next print.
func (p *jsonbPrinter) print(b []byte) ([]byte, bool) {
	p.in, p.i, p.scratch, p.members = b, 0, p.scratch[:0], p.members[:0]
	lo, hi, err := p.value()
	if err != nil {
		return nil, false
	}
	if p.skipSpace(); p.i != len(p.in) {
		return nil, false
	}
	return p.scratch[lo:hi], true
}

func (p *jsonbPrinter) skipSpace() {
	for p.i < len(p.in) && (p.in[p.i] == ' ' || p.in[p.i] == '\t' || p.in[p.i] == '\n' || p.in[p.i] == '\r') {
		p.i++
	}
}

// value prints the value at p.i into scratch and returns where it is.
func (p *jsonbPrinter) value() (lo, hi int, err error) {
	p.skipSpace()
	if p.i >= len(p.in) {
		return 0, 0, errNotJSONB
	}
	switch c := p.in[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return 0, 0, err
		}
		lo = len(p.scratch)
		p.scratch = appendJSONBString(p.scratch, s)
		return lo, len(p.scratch), nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(p.in)-p.i >= len(lit) && string(p.in[p.i:p.i+len(lit)]) == lit {
				lo = len(p.scratch)
				p.scratch = append(p.scratch, lit...)
				p.i += len(lit)
				return lo, len(p.scratch), nil
			}
		}
		return 0, 0, errNotJSONB
	default:
		start := p.i
		for p.i < len(p.in) && isNumberByte(p.in[p.i]) {
			p.i++
		}
		num := p.in[start:p.i]
		if len(num) == 0 || bytes.ContainsAny(num, "eE+") || isNegativeZero(num) {
			return 0, 0, errNotJSONB
		}
		if _, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64); err != nil {
			return 0, 0, errNotJSONB
		}
		lo = len(p.scratch)
		p.scratch = append(p.scratch, num...)
		return lo, len(p.scratch), nil
	}
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func isNegativeZero(num []byte) bool {
	return num[0] == '-' && bytes.Trim(num[1:], "0.") == nil
}

// keyLess orders keys as jsonb does: by length, then bytes.
func keyLess(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return bytes.Compare(a, b) < 0
}

func (p *jsonbPrinter) object() (lo, hi int, err error) {
	p.i++ // {
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	for {
		p.skipSpace()
		if p.i < len(p.in) && p.in[p.i] == '}' && len(p.members) == base {
			p.i++
			break
		}
		if p.i >= len(p.in) || p.in[p.i] != '"' {
			return 0, 0, errNotJSONB
		}
		k, err := p.str()
		if err != nil {
			return 0, 0, err
		}
		if p.skipSpace(); p.i >= len(p.in) || p.in[p.i] != ':' {
			return 0, 0, errNotJSONB
		}
		p.i++
		vlo, vhi, err := p.value()
		if err != nil {
			return 0, 0, err
		}
		p.members = append(p.members, member{k, p.scratch[vlo:vhi:vhi]})
		if p.skipSpace(); p.i < len(p.in) && p.in[p.i] == ',' {
			p.i++
			continue
		}
		if p.i >= len(p.in) || p.in[p.i] != '}' {
			return 0, 0, errNotJSONB
		}
		p.i++
		break
	}
	// An insertion sort, stable: jsonb keeps the last of equal keys, and
	// objects have few.
	ms := p.members[base:]
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && keyLess(ms[j].key, ms[j-1].key); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	lo = len(p.scratch)
	p.scratch = append(p.scratch, '{')
	n := 0
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(ms[i+1].key, m.key) {
			continue
		}
		if n > 0 {
			p.scratch = append(p.scratch, ", "...)
		}
		n++
		p.scratch = appendJSONBString(p.scratch, m.key)
		p.scratch = append(p.scratch, ": "...)
		p.scratch = append(p.scratch, m.val...)
	}
	p.scratch = append(p.scratch, '}')
	return lo, len(p.scratch), nil
}

func (p *jsonbPrinter) array() (lo, hi int, err error) {
	p.i++ // [
	// The array is one span: each element is printed after the one
	// before it and its separator.
	lo = len(p.scratch)
	p.scratch = append(p.scratch, '[')
	for n := 0; ; n++ {
		p.skipSpace()
		if p.i < len(p.in) && p.in[p.i] == ']' && n == 0 {
			p.i++
			break
		}
		if n > 0 {
			p.scratch = append(p.scratch, ", "...)
		}
		at := len(p.scratch)
		vlo, vhi, err := p.value()
		if err != nil {
			return 0, 0, err
		}
		if vlo != at {
			// An object printed its members' values before itself: it
			// moves to where it belongs, over them (they are used up).
			p.scratch = p.scratch[:at+copy(p.scratch[at:], p.scratch[vlo:vhi])]
		}
		if p.skipSpace(); p.i < len(p.in) && p.in[p.i] == ',' {
			p.i++
			continue
		}
		if p.i >= len(p.in) || p.in[p.i] != ']' {
			return 0, 0, errNotJSONB
		}
		p.i++
		break
	}
	p.scratch = append(p.scratch, ']')
	return lo, len(p.scratch), nil
}

// str decodes the JSON string at p.i: a part of the input when it holds
// no escapes.
func (p *jsonbPrinter) str() ([]byte, error) {
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
				return raw, nil
			}
			var s string
			if err := json.Unmarshal(p.in[start:p.i], &s); err != nil {
				return nil, errNotJSONB
			}
			return []byte(s), nil
		default:
			p.i++
		}
	}
	return nil, errNotJSONB
}

// appendJSONBString appends s quoted as PostgreSQL's escape_json does.
func appendJSONBString(out, s []byte) []byte {
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
			_, n := utf8.DecodeRune(s[i:])
			out = append(out, s[i:i+n]...)
			i += n
			continue
		}
		i++
	}
	return append(out, '"')
}
