package starter

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fieldProblem is one thing wrong with one field of a request body.
type fieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// invalidInput is the 400 answer for problems with named fields.
func invalidInput(problems ...fieldProblem) *apiError {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Field + ": " + p.Problem
	}
	e := newError(http.StatusBadRequest, codeInvalidInput, "%s", strings.Join(msgs, "; "))
	return e.with(map[string]any{"fields": problems})
}

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

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf dereferences t and returns nil for types whose JSON shape we do
// not check: interfaces and types that decode themselves.
func shapeOf(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return t
}

// jsonFields maps the JSON names of t's fields to their types, as
// encoding/json names them, with embedded structs' fields promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous && f.Tag.Get("json") == "" && shapeOf(f.Type) != nil && shapeOf(f.Type).Kind() == reflect.Struct {
			continue // its fields are promoted and listed on their own
		}
		if !f.IsExported() || len(f.Index) > 1 && !promoted(t, f) {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out[name]; !dup {
			out[name] = f.Type
		}
	}
	return out
}

// promoted reports whether the nested field f is reached through untagged
// embedded structs only, which is when encoding/json promotes it.
func promoted(t reflect.Type, f reflect.StructField) bool {
	for _, i := range f.Index[:len(f.Index)-1] {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		sf := t.Field(i)
		if !sf.Anonymous || sf.Tag.Get("json") != "" {
			return false
		}
		t = sf.Type
	}
	return true
}

// knownFields lists the accepted names for an unknown-field problem.
func knownFields(fields map[string]reflect.Type) string {
	if len(fields) == 0 || len(fields) > 20 {
		return ""
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}

func syntaxProblem(err error, path string) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))})
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: "invalid JSON: unexpected end"})
	}
	return invalidInput(fieldProblem{Field: orRoot(path), Problem: "invalid JSON"})
}

// typeName names a Go type the way a JSON client thinks of it.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.Kind().String()
}

func joinPath(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// fieldPrefix matches the "field: problem" shape of Validate errors.
var fieldPrefix = regexp.MustCompile(`^([A-Za-z0-9_.\[\]]+): (.+)$`)

// validationProblems turns a Validate error (errors.Join of "field: problem"
// lines, by the registry's convention) into field problems under path.
func validationProblems(err error, path string) []fieldProblem {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	var out []fieldProblem
	for _, e := range list {
		for line := range strings.SplitSeq(e.Error(), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if m := fieldPrefix.FindStringSubmatch(line); m != nil {
				out = append(out, fieldProblem{Field: joinPath(path, m[1]), Problem: m[2]})
			} else {
				out = append(out, fieldProblem{Field: path, Problem: line})
			}
		}
	}
	return out
}
