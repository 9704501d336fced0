package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkKeys walks a YAML node against the Go type it will be decoded into and
// reports every unknown or repeated mapping key with its line. yaml.v3's own
// KnownFields stops at the first problem and is not available on Node.Decode,
// which module sections need; this reports them all, with the key's path.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return checkKeys(file, n.Content[0], t, path)
	}
	if n.Kind == yaml.AliasNode {
		return checkKeys(file, n.Alias, t, path)
	}
	// Types that decode themselves check their own shape; raw nodes are
	// checked later against the type they are decoded into.
	if t == reflect.TypeFor[yaml.Node]() {
		return nil
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		seen := make(map[string]bool)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if seen[k.Value] {
				errs = append(errs, fmt.Errorf("%s:%d: %s: key repeated", file, k.Line, p))
				continue
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				errs = append(errs, fmt.Errorf("%s:%d: unknown key %q in %s (known: %s)", file, k.Line, k.Value, orTop(path), strings.Join(sortedKeys(fields), ", ")))
				continue
			}
			errs = append(errs, checkKeys(file, v, f.Type, p)...)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkKeys(file, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			errs = append(errs, checkKeys(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// decodeStrict decodes n into out (a pointer), first reporting unknown keys.
// Unknown keys and values of the wrong type are both reported; the rest of
// the node is still decoded, so validation can report its problems too.
func decodeStrict(file string, n *yaml.Node, out any, path string) error {
	errs := checkKeys(file, n, reflect.TypeOf(out), path)
	if err := n.Decode(out); err != nil {
		if path == "" {
			errs = append(errs, fmt.Errorf("%s: %w", file, cleanYAMLError(err)))
		} else {
			errs = append(errs, fmt.Errorf("%s: %s: %w", file, path, cleanYAMLError(err)))
		}
	}
	return joinErrs(errs)
}

// cleanYAMLError drops yaml.v3's "unmarshal errors:" preamble so the message
// reads as one line per problem ("line 7: cannot unmarshal …").
func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	msg = strings.ReplaceAll(msg, "\n ", ";")
	return fmt.Errorf("%s", strings.TrimSpace(msg))
}
