package starter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth caps the nesting of request JSON. Inputs are flat records; a
// deeper body is an attack on the parser, refused before it costs more than
// the body itself.
const maxDepth = 64

// maxPathLen caps a field path quoted in an answer: a path is made of the
// client's own keys, and the answer must not grow with them.
const maxPathLen = 200

// decodeStrict decodes the JSON value in data into out, a pointer. Beyond
// encoding/json it refuses unknown fields and repeated fields (both named
// with their full path, prefixed by path), field names that only match
// case-insensitively, strings that are not valid UTF-8 (encoding/json would
// replace them with U+FFFD silently), nesting deeper than maxDepth, and
// anything after the value. Repeated fields matter: {"tenant_id":"a",
// "tenant_id":"b"} must not mean one thing here and another elsewhere.
//
// Its memory is linear in len(data): the shape check keeps the path as a
// stack of the keys the decoder already holds and formats it only for an
// error.
func decodeStrict(data []byte, out any, path string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: "empty, want a JSON value"})
	}
	sc := &shapeChecker{dec: json.NewDecoder(bytes.NewReader(data)), data: data, root: path}
	if err := sc.value(reflect.TypeOf(out)); err != nil {
		return err
	}
	if _, err := sc.dec.Token(); !errors.Is(err, io.EOF) {
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: "unexpected data after the JSON value"})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidInput(fieldProblem{
				Field:   orRoot(clip(joinPath(path, te.Field))),
				Problem: fmt.Sprintf("wrong type: got %s, want %s", te.Value, typeName(te.Type)),
			})
		}
		// Errors of types that decode themselves (time.Time, …) name the
		// value, not our internals.
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: clip(err.Error())})
	}
	return nil
}

// shapeChecker walks one JSON value token by token, checking its object
// keys against a Go type, its strings for UTF-8 and its depth.
type shapeChecker struct {
	dec  *json.Decoder
	data []byte
	root string
	// path holds one element per open container: an object key, or an
	// array index (key unused).
	path []pathElem
}

type pathElem struct {
	key   string
	index int
	array bool
	// pending: the key is not read yet (an error in the key itself is
	// reported at the object).
	pending bool
}

// where formats the current path, clipped to maxPathLen.
func (c *shapeChecker) where() string {
	var b strings.Builder
	b.WriteString(c.root)
	for _, e := range c.path {
		if b.Len() > maxPathLen {
			break
		}
		if e.pending {
			continue
		}
		if e.array {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.key)
	}
	return orRoot(clip(b.String()))
}

func (c *shapeChecker) problem(format string, args ...any) error {
	return invalidInput(fieldProblem{Field: c.where(), Problem: fmt.Sprintf(format, args...)})
}

// token reads the next token and refuses a string token that is not valid
// UTF-8 in the input.
func (c *shapeChecker) token() (json.Token, error) {
	from := c.dec.InputOffset()
	tok, err := c.dec.Token()
	if err != nil {
		return nil, syntaxProblem(err, c.where())
	}
	if _, ok := tok.(string); ok && !validJSONText(c.data[from:c.dec.InputOffset()]) {
		return nil, c.problem("not valid UTF-8")
	}
	return tok, nil
}

// value reads one JSON value and checks its object keys against t (nil:
// anything goes). Scalars are left to the decoder, which reports type
// mismatches with the field path.
func (c *shapeChecker) value(t reflect.Type) error {
	tok, err := c.token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if len(c.path) >= maxDepth {
		return c.problem("nested deeper than %d levels", maxDepth)
	}
	t = shapeOf(t)
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := make(map[string]bool)
		c.path = append(c.path, pathElem{pending: true})
		for c.dec.More() {
			c.path[len(c.path)-1] = pathElem{pending: true}
			tok, err := c.token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			c.path[len(c.path)-1] = pathElem{key: key}
			if seen[key] {
				return c.problem("repeated field")
			}
			seen[key] = true
			var child reflect.Type
			switch {
			case fields != nil:
				ft, known := fields[key]
				if !known {
					return c.problem("unknown field%s", knownFields(fields))
				}
				child = ft
			case t != nil && t.Kind() == reflect.Map:
				child = t.Elem()
			}
			if err := c.value(child); err != nil {
				return err
			}
		}
		c.path = c.path[:len(c.path)-1]
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		c.path = append(c.path, pathElem{array: true})
		for i := 0; c.dec.More(); i++ {
			c.path[len(c.path)-1].index = i
			if err := c.value(elem); err != nil {
				return err
			}
		}
		c.path = c.path[:len(c.path)-1]
	}
	if _, err := c.dec.Token(); err != nil { // the closing delimiter
		return syntaxProblem(err, c.where())
	}
	return nil
}

// validJSONText reports whether raw JSON text (a string token with the
// separators before it) is valid UTF-8 and has no lone UTF-16 surrogate
// escape: encoding/json turns both into U+FFFD without a word.
func validJSONText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	pendingHigh := false
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			if pendingHigh {
				return false
			}
			continue
		}
		i++ // the escaped character
		if i >= len(raw) || raw[i] != 'u' {
			if pendingHigh {
				return false
			}
			continue
		}
		if i+4 >= len(raw) {
			return false
		}
		r, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 16)
		if err != nil {
			return false
		}
		i += 4
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if pendingHigh {
				return false
			}
			pendingHigh = true
		case r >= 0xDC00 && r < 0xE000:
			if !pendingHigh {
				return false
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return false
			}
		}
	}
	return !pendingHigh
}

// clip shortens s to maxPathLen bytes for an answer.
func clip(s string) string {
	if len(s) <= maxPathLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxPathLen], "") + "…"
}
