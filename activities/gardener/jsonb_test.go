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
