package gardener

import (
	"encoding/json"
	"testing"
)

// TestJSONBText: the expected spellings are what PostgreSQL 15 prints for
// the input cast to jsonb (SELECT $1::jsonb).
func TestJSONBText(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"keys by length then bytes", `{"name":"Bosch","key":"bosch"}`, `{"key": "bosch", "name": "Bosch"}`, true},
		{"numbers as written", `{"value":0.5,"unit":"kg"}`, `{"unit": "kg", "value": 0.5}`, true},
		{"string escapes", `"a\u003cb\u0026c\"d\\e\n\u0001é\u2028"`, "\"a<b&c\\\"d\\\\e\\n\\u0001é\u2028\"", true},
		{"last equal key wins", `{"b":1,"a":2,"a":3,"aa":[1,true,null,"x"],"":{}}`, `{"": {}, "a": 3, "b": 1, "aa": [1, true, null, "x"]}`, true},
		{"empty containers", `[]`, `[]`, true},
		{"negative", `-0.5`, `-0.5`, true},
		{"exponent", `1e-05`, ``, false},
		{"negative zero", `-0`, ``, false},
		{"not JSON", `{"a":}`, ``, false},
		{"trailing garbage", `{} x`, ``, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := jsonbText([]byte(c.in))
			if ok != c.ok || ok && string(got) != c.want {
				t.Fatalf("jsonbText(%s) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestSpacedEqual(t *testing.T) {
	cases := []struct {
		name, stored, produced string
		want                   bool
	}{
		{"jsonb's key order", `{"key": "bosch", "name": "Bosch"}`, `{"key":"bosch","name":"Bosch"}`, true},
		{"nested", `{"a": [1, {"b": null}], "cd": true}`, `{"a":[1,{"b":null}],"cd":true}`, true},
		{"other key order", `{"key": "bosch", "name": "Bosch"}`, `{"name":"Bosch","key":"bosch"}`, false},
		{"space in a string", `"a, b"`, `"a,b"`, false},
		{"space in a string, both", `"a: b"`, `"a: b"`, true},
		{"escaped quote", `{"a": "x\", y"}`, `{"a":"x\", y"}`, true},
		{"escaped quote, other value", `{"a": "x\", y"}`, `{"a":"x\",y"}`, false},
		{"escaped backslash ends the string", `["a\\", "b"]`, `["a\\","b"]`, true},
		{"other escape", `"\u00e9"`, `"é"`, false},
		{"a shorter", `{"a": 1}`, `{"a":1,"b":2}`, false},
		{"b shorter", `{"a": 1, "b": 2}`, `{"a":1}`, false},
		{"leading space", ` 1`, `1`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := spacedEqual([]byte(c.stored), []byte(c.produced)); got != c.want {
				t.Fatalf("spacedEqual(%s, %s) = %v", c.stored, c.produced, got)
			}
		})
	}
}

func TestJSONEqual(t *testing.T) {
	cases := []struct {
		name, stored, produced string
		want                   bool
	}{
		{"same spelling", `true`, `true`, true},
		{"respelled object", `{"key": "bosch", "name": "Bosch"}`, `{"name":"Bosch","key":"bosch"}`, true},
		{"other value", `{"key": "bosch", "name": "Bosch"}`, `{"name":"BOSCH","key":"bosch"}`, false},
		{"exponent decoded", `0.00001`, `1e-05`, true},
		{"exponent differs", `0.00002`, `1e-05`, false},
		{"missing key", `{"a": 1}`, `{"a":1,"b":2}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := jsonEqual(json.RawMessage(c.stored), json.RawMessage(c.produced)); got != c.want {
				t.Fatalf("jsonEqual(%s, %s) = %v", c.stored, c.produced, got)
			}
		})
	}
}
