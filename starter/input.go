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
	"strings"
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

// decodeStrict decodes the JSON value in data into out, a pointer. Beyond
// encoding/json it refuses unknown fields and repeated fields (both named
// with their full path, prefixed by path), field names that only match
// case-insensitively, and anything after the value. Repeated fields matter:
// {"tenant_id":"a","tenant_id":"b"} must not mean one thing here and another
// elsewhere.
func decodeStrict(data []byte, out any, path string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: "empty, want a JSON value"})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := checkShape(dec, reflect.TypeOf(out), path); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: "unexpected data after the JSON value"})
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidInput(fieldProblem{
				Field:   orRoot(joinPath(path, te.Field)),
				Problem: fmt.Sprintf("wrong type: got %s, want %s", te.Value, typeName(te.Type)),
			})
		}
		// Errors of types that decode themselves (time.Time, …) name the
		// value, not our internals.
		return invalidInput(fieldProblem{Field: orRoot(path), Problem: err.Error()})
	}
	return nil
}

// checkShape reads one JSON value from dec and checks its object keys
// against t (nil: anything goes). Scalars are left to the decoder, which
// reports type mismatches with the field path.
func checkShape(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxProblem(err, path)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = shapeOf(t)
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return syntaxProblem(err, path)
			}
			key, _ := tok.(string)
			p := joinPath(path, key)
			if seen[key] {
				return invalidInput(fieldProblem{Field: p, Problem: "repeated field"})
			}
			seen[key] = true
			var child reflect.Type
			switch {
			case fields != nil:
				ft, known := fields[key]
				if !known {
					return invalidInput(fieldProblem{Field: p, Problem: "unknown field" + knownFields(fields)})
				}
				child = ft
			case t != nil && t.Kind() == reflect.Map:
				child = t.Elem()
			}
			if err := checkShape(dec, child, p); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkShape(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return syntaxProblem(err, path)
	}
	return nil
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

// stringField returns the settable string field of the struct that v
// points to whose JSON name is name (top level, or promoted from embedded
// structs).
func stringField(v any, name string) (reflect.Value, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	rv = rv.Elem()
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if !f.IsExported() || f.Type.Kind() != reflect.String || len(f.Index) > 1 && !promoted(rv.Type(), f) {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag != name {
			continue
		}
		fv, err := rv.FieldByIndexErr(f.Index)
		if err != nil || !fv.CanSet() {
			return reflect.Value{}, false
		}
		return fv, true
	}
	return reflect.Value{}, false
}
