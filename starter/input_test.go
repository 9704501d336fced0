package starter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

type nestedInput struct {
	Embedded
	Name  string            `json:"name"`
	When  time.Time         `json:"when"`
	Items []item            `json:"items"`
	Tags  map[string]item   `json:"tags"`
	Any   any               `json:"any"`
	Raw   json.RawMessage   `json:"raw"`
	Ptr   *item             `json:"ptr"`
	Skip  string            `json:"-"`
	Plain map[string]string `json:"plain"`
}

type Embedded struct {
	TenantID string `json:"tenant_id"`
}

type item struct {
	Qty int `json:"qty"`
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // "" for success, else in the error
	}{
		{"good", `{"tenant_id":"a","name":"n","when":"2024-01-01T00:00:00Z","items":[{"qty":1}],"tags":{"x":{"qty":2}},"any":{"k":[1,{"z":1}]},"raw":{"r":1},"ptr":{"qty":3},"plain":{"a":"b"}}`, ""},
		{"null", `null`, ""},
		{"promoted field", `{"tenant_id":"a"}`, ""},
		{"unknown top-level field", `{"nope":1}`, "in.nope: unknown field (known: any, items, name, plain, ptr, raw, tags, tenant_id, when)"},
		{"skipped field", `{"Skip":"x"}`, "in.Skip: unknown field"},
		{"embedded struct by name", `{"Embedded":{}}`, "in.Embedded: unknown field"},
		{"unknown field in a slice", `{"items":[{"qty":1},{"qty":2,"nope":3}]}`, "in.items[1].nope: unknown field"},
		{"unknown field in a map value", `{"tags":{"x":{"nope":1}}}`, "in.tags.x.nope: unknown field"},
		{"unknown field behind a pointer", `{"ptr":{"nope":1}}`, "in.ptr.nope: unknown field"},
		{"repeated key in a free-form value", `{"any":{"k":1,"k":2}}`, "in.any.k: repeated field"},
		{"repeated key in raw JSON", `{"raw":{"k":1,"k":2}}`, "in.raw.k: repeated field"},
		{"repeated map key", `{"plain":{"a":"1","a":"2"}}`, "in.plain.a: repeated field"},
		{"wrong type deep", `{"items":[{"qty":"1"}]}`, "in.items.qty: wrong type: got string, want integer"},
		{"bad time", `{"when":"yesterday"}`, "in: "},
		{"syntax error", `{"name":}`, "invalid JSON at byte"},
		{"truncated", `{"name":"x"`, "unexpected end"},
		{"trailing value", `{} []`, "unexpected data after"},
		{"empty", `  `, "empty"},
		{"invalid UTF-8 in a value", "{\"name\":\"a\xffb\"}", "in.name: not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"tags\":{\"\xc3\":{}}}", "in.tags: not valid UTF-8"},
		{"invalid UTF-8 deep in a free-form value", "{\"any\":{\"k\":[1,\"\xed\xa0\x80\"]}}", "in.any.k[1]: not valid UTF-8"},
		{"lone high surrogate escape", `{"name":"\ud800"}`, "in.name: not valid UTF-8"},
		{"lone low surrogate escape", `{"name":"x\udc00"}`, "in.name: not valid UTF-8"},
		{"high surrogate then a letter", `{"name":"\ud83dx"}`, "in.name: not valid UTF-8"},
		{"control: a surrogate pair", `{"name":"\ud83d\ude00"}`, ""},
		{"control: an escaped backslash before u", `{"name":"\\ud800"}`, ""},
		{"control: UTF-8", `{"name":"Grüße, 世界"}`, ""},
		{"nested 65 deep", `{"any":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, "nested deeper than 64 levels"},
		{"control: nested 64 deep", `{"any":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`, ""},
		{"long keys are clipped", `{"any":{"` + strings.Repeat("k", 5000) + `":{"a":1,"a":2}}}`, "…: repeated field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out nestedInput
			err := decodeStrict([]byte(tt.in), &out, "in")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if err != nil && asAPIError(err).status != 400 {
				t.Errorf("status %d, want 400", asAPIError(err).status)
			}
		})
	}
}

func TestValidationProblems(t *testing.T) {
	t.Parallel()
	err := errors.Join(errors.New("note: required"), errors.New(`items[2].qty: must be > 0`), errors.New("something else"))
	got := validationProblems(err, "input")
	want := []fieldProblem{{"input.note", "required"}, {"input.items[2].qty", "must be > 0"}, {"input", "something else"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"tenant_id":"a","items":[{"qty":1}],"any":{"k":[1]}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`[{"qty":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out nestedInput
		err := decodeStrict(data, &out, "in")
		if err == nil {
			// Whatever is accepted must be valid JSON that encoding/json
			// decodes the same way without complaint.
			var again nestedInput
			if jerr := json.Unmarshal(data, &again); jerr != nil {
				t.Fatalf("accepted %q that encoding/json refuses: %v", data, jerr)
			}
			return
		}
		if asAPIError(err).status != 400 {
			t.Fatalf("%q: status %d, want 400", data, asAPIError(err).status)
		}
	})
}
