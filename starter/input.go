package starter

import (
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

	"contextworker/registry"
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

// decodeInput decodes raw strictly into wf's input type, fills in the
// caller's tenant where the input has one and left it empty, refuses
// another tenant's input (403) and validates the result.
func (s *Server) decodeInput(wf registry.Workflow, raw json.RawMessage, c *caller) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	input := wf.Input()
	if err := decodeStrict(raw, input, "input"); err != nil {
		return nil, err
	}
	if wf.Tenant != nil {
		switch wf.Tenant(input) {
		case c.Tenant:
		case "":
			// The platform's inputs name their tenant in "tenant_id"; a
			// client may leave it to its token.
			filled, err := withTenant(raw, c.Tenant)
			if err != nil {
				return nil, err
			}
			input = wf.Input()
			if err := decodeStrict(filled, input, "input"); err != nil {
				return nil, err
			}
			if got := wf.Tenant(input); got != c.Tenant {
				return nil, fmt.Errorf("workflow type %s: input.tenant_id set to %q, but its Tenant reports %q", wf.Name, c.Tenant, got)
			}
		default:
			return nil, newError(http.StatusForbidden, codeForbidden, "input.tenant_id does not match your token's tenant")
		}
	}
	if v, ok := input.(registry.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, invalidInput(validationProblems(err, "input")...)
		}
	}
	return input, nil
}

// withTenant sets the top-level "tenant_id" of the JSON object raw.
func withTenant(raw json.RawMessage, tenant string) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, invalidInput(fieldProblem{Field: "input", Problem: "want a JSON object"})
	}
	t, _ := json.Marshal(tenant) // an ident: nothing to escape
	fields["tenant_id"] = t
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("fill in tenant_id: %w", err)
	}
	return out, nil
}
