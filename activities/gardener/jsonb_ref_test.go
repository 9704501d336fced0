package gardener

// The respelling as it was before jsonbPrinter reused its buffers: the
// reference the tests compare it with.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/enrichtest"
)

// refJSONEqual reports whether a value stored in jsonb (a, in PostgreSQL's
// spelling) holds the same value as an enricher's JSON (b), as jsonb
// compares them: key order, spacing and number spelling (1.0, 1) do not
// matter. Most values differ from their stored spelling only in key order
// and spacing, so b is first respelled as jsonb prints it; only values
// that cannot be (exponents) are decoded and compared.
func refJSONEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if s, ok := refJSONBText(b); ok {
		return bytes.Equal(a, s)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// refJSONBText respells compact JSON as PostgreSQL prints jsonb: object keys
// ordered by length, then bytes (the last of equal keys wins), ", " and
// ": " between items, strings with only ", \ and control characters
// escaped. false when the text is not JSON or holds a number jsonb would
// print otherwise (with an exponent, or -0).
func refJSONBText(b []byte) ([]byte, bool) {
	p := refPrinter{in: b}
	if err := p.value(); err != nil {
		return nil, false
	}
	if p.skipSpace(); p.i != len(p.in) {
		return nil, false
	}
	return p.out, true
}

type refPrinter struct {
	in  []byte
	i   int
	out []byte
}

var refErrNotJSONB = fmt.Errorf("not respellable as jsonb")

func (p *refPrinter) skipSpace() {
	for p.i < len(p.in) && (p.in[p.i] == ' ' || p.in[p.i] == '\t' || p.in[p.i] == '\n' || p.in[p.i] == '\r') {
		p.i++
	}
}

func (p *refPrinter) value() error {
	p.skipSpace()
	if p.i >= len(p.in) {
		return refErrNotJSONB
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
		p.out = refAppendJSONBString(p.out, s)
		return nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(p.in[p.i:], []byte(lit)) {
				p.out = append(p.out, lit...)
				p.i += len(lit)
				return nil
			}
		}
		return refErrNotJSONB
	default:
		start := p.i
		for p.i < len(p.in) && bytes.IndexByte([]byte("+-0123456789.eE"), p.in[p.i]) >= 0 {
			p.i++
		}
		num := p.in[start:p.i]
		if len(num) == 0 || bytes.ContainsAny(num, "eE+") || refIsNegativeZero(num) {
			return refErrNotJSONB
		}
		if _, err := strconv.ParseFloat(string(num), 64); err != nil {
			return refErrNotJSONB
		}
		p.out = append(p.out, num...)
		return nil
	}
}

func refIsNegativeZero(num []byte) bool {
	return num[0] == '-' && bytes.Trim(num[1:], "0.") == nil
}

type refMember struct {
	key string
	val []byte
}

func (p *refPrinter) object() error {
	p.i++ // {
	var ms []refMember
	for {
		p.skipSpace()
		if p.i < len(p.in) && p.in[p.i] == '}' && len(ms) == 0 {
			p.i++
			break
		}
		if p.i >= len(p.in) || p.in[p.i] != '"' {
			return refErrNotJSONB
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		if p.skipSpace(); p.i >= len(p.in) || p.in[p.i] != ':' {
			return refErrNotJSONB
		}
		p.i++
		outer := p.out
		p.out = nil
		if err := p.value(); err != nil {
			return err
		}
		ms = append(ms, refMember{k, p.out})
		p.out = outer
		if p.skipSpace(); p.i < len(p.in) && p.in[p.i] == ',' {
			p.i++
			continue
		}
		if p.i >= len(p.in) || p.in[p.i] != '}' {
			return refErrNotJSONB
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
		p.out = refAppendJSONBString(p.out, m.key)
		p.out = append(p.out, ": "...)
		p.out = append(p.out, m.val...)
	}
	p.out = append(p.out, '}')
	return nil
}

func (p *refPrinter) array() error {
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
			return refErrNotJSONB
		}
		p.i++
		break
	}
	p.out = append(p.out, ']')
	return nil
}

// str decodes the JSON string at p.i.
func (p *refPrinter) str() (string, error) {
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
				return "", refErrNotJSONB
			}
			return s, nil
		default:
			p.i++
		}
	}
	return "", refErrNotJSONB
}

// refAppendJSONBString appends s quoted as PostgreSQL's escape_json does.
func refAppendJSONBString(out []byte, s string) []byte {
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

// jsonbCorpus is what the enrichers produce for generated products with
// oddities, and values built to stress the printer: objects in arrays in
// objects, equal keys at each depth, escapes in keys.
func jsonbCorpus(t testing.TB) [][]byte {
	t.Helper()
	ps, err := enrichtest.Products(3000, 11)
	if err != nil {
		t.Fatal(err)
	}
	enrichtest.AddOddities(ps)
	a, err := New(nil, DefaultConfig(), nil, enrich.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pipeline.Run(context.Background(), enrich.Run{ID: "r", TenantID: "t", Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}, ps, nil); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, p := range ps {
		for _, r := range p.Results() {
			out = append(out, r.Value)
		}
		if attrs, err := json.Marshal(p.Attributes); err == nil {
			out = append(out, attrs)
		}
	}
	for _, s := range []string{
		`[{"b":1,"a":[{"d":{"y":1,"x":2},"c":3}]},{"a":1,"a":2},[],{}]`,
		`{"k":[{"z":1,"zz":[{"b":1,"a":{"d":4,"c":[1,{"f":6,"e":5}]}}]},2],"a\"b":{"\u0041":1,"A":2},"é":{"":[{}]}}`,
		`[[{"b":1,"a":2}],[{"d":3,"c":4},{"f":5,"e":6}],{"h":[{"j":7,"i":8}],"g":9}]`,
		`{"a":{"a":{"a":1,"a":2},"a":{"b":3}},"b":[1,2,{"b":[]}]}`,
		` { "x" : [ 1 , { "b" : true , "a" : null } ] , "w" : -0.25 } `,
		`{"a":1e5}`, `[{"a":-0}]`, `{"a":[1,}`, `{"a":"\ud800"}`, `"\u0000\u001f\u007f"`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// TestJSONBTextIsReference: reusing its buffers, the printer respells
// every value as the reference does, and says so when it cannot.
func TestJSONBTextIsReference(t *testing.T) {
	var p jsonbPrinter
	for _, in := range jsonbCorpus(t) {
		want, wantOK := refJSONBText(in)
		got, ok := p.print(in)
		if ok != wantOK || ok && !bytes.Equal(got, want) {
			t.Fatalf("print(%s) = %s, %v; reference %s, %v", in, got, ok, want, wantOK)
		}
		if ok && !p.equal(want, in) {
			t.Fatalf("equal(%s, %s) = false", want, in)
		}
	}
}

func FuzzJSONBText(f *testing.F) {
	for _, in := range jsonbCorpus(f) {
		f.Add(in)
	}
	var p jsonbPrinter
	f.Fuzz(func(t *testing.T, in []byte) {
		want, wantOK := refJSONBText(in)
		got, ok := p.print(in)
		if ok != wantOK || ok && !bytes.Equal(got, want) {
			t.Fatalf("print(%q) = %q, %v; reference %q, %v", in, got, ok, want, wantOK)
		}
		if other := []byte(`{"a": 1}`); p.equal(other, in) != refJSONEqual(other, in) {
			t.Fatalf("equal(%s, %q) differs from the reference", other, in)
		}
		// spacedEqual is never wrong when it says equal, whatever the
		// inputs (as jsonb prints them, or anything else).
		for _, other := range [][]byte{want, []byte(`{"a": 1}`), []byte(`["a", "b"]`), []byte(`"a, b"`)} {
			if spacedEqual(other, in) && !refJSONEqual(other, in) {
				t.Fatalf("spacedEqual(%q, %q) = true, but they differ", other, in)
			}
		}
	})
}

// BenchmarkJSONEqual compares what the enrichers produce with its stored
// spelling, as a diff does for every stored field.
func BenchmarkJSONEqual(b *testing.B) {
	corpus := jsonbCorpus(b)
	stored := make([][]byte, len(corpus))
	for i, in := range corpus {
		stored[i], _ = refJSONBText(in)
	}
	var p jsonbPrinter
	b.ResetTimer()
	for range b.N {
		for i, in := range corpus {
			p.equal(stored[i], in)
		}
	}
}
