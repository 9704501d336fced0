package product

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// Attribute is one of a Product's attributes: a lower-case key and its
// value (repeated values joined with ", ").
type Attribute struct {
	Key, Value string
}

// Attributes are a Product's attributes, sorted by key in byte order, each
// key once. A sorted slice and not a map: an offer has a handful, and
// building a map of them, then iterating and sorting it for the hash and
// the COPY tuple, was a tenth of a YML first load's Go-side CPU.
type Attributes []Attribute

// AttributesOf returns m as Attributes (nil when m is empty).
func AttributesOf(m map[string]string) Attributes {
	if len(m) == 0 {
		return nil
	}
	a := make(Attributes, 0, len(m))
	for k, v := range m {
		a = append(a, Attribute{k, v})
	}
	slices.SortFunc(a, compareAttributes)
	return a
}

// Lookup returns the value of key, and whether a has it.
func (a Attributes) Lookup(key string) (string, bool) {
	i, ok := slices.BinarySearchFunc(a, key, func(x Attribute, k string) int { return strings.Compare(x.Key, k) })
	if !ok {
		return "", false
	}
	return a[i].Value, true
}

// Get returns the value of key, "" when a does not have it.
func (a Attributes) Get(key string) string {
	v, _ := a.Lookup(key)
	return v
}

// Map returns a as a map (nil when a is empty).
func (a Attributes) Map() map[string]string {
	if len(a) == 0 {
		return nil
	}
	m := make(map[string]string, len(a))
	for _, x := range a {
		m[x.Key] = x.Value
	}
	return m
}

// MarshalJSON writes a as a JSON object, keys in order, as a map of them
// would be written.
func (a Attributes) MarshalJSON() ([]byte, error) {
	if a == nil {
		return []byte("null"), nil
	}
	return json.Marshal(a.Map())
}

// UnmarshalJSON reads a JSON object (or null) into a.
func (a *Attributes) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = AttributesOf(m)
	return nil
}

func compareAttributes(x, y Attribute) int { return cmp.Compare(x.Key, y.Key) }

// appendAttribute appends key's value v to a (to be sorted and merged by
// finishAttributes), leaving out empty keys and values.
func appendAttribute(a Attributes, key, v string) Attributes {
	if v = cleanText(v); v == "" || key == "" {
		return a
	}
	return append(a, Attribute{key, v})
}

// finishAttributes sorts a by key, keeping the order in which each key's
// values came, merges each key's values into one (joinValue), truncates
// values to MaxAttributeLen characters and returns the result, which
// shares a's array. Sorting at the end, and not inserting in order, keeps
// a record with thousands of attributes to O(n log n).
func finishAttributes(a Attributes) Attributes {
	if len(a) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(a, compareAttributes) {
		slices.SortStableFunc(a, compareAttributes)
	}
	out := a[:1]
	for _, x := range a[1:] {
		if last := &out[len(out)-1]; last.Key == x.Key {
			last.Value = joinValue(last.Value, x.Value)
			continue
		}
		out = append(out, x)
	}
	for i := range out {
		if runeCountAbove(out[i].Value, MaxAttributeLen) {
			out[i].Value = truncateRunes(out[i].Value, MaxAttributeLen)
		}
	}
	clear(a[len(out):]) // drop the merged values' strings
	return out
}
