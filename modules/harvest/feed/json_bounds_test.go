package feed

import (
	"strings"
	"testing"
)

func TestJSONHugeField(t *testing.T) {
	reason := []string{`field "description" is 33554432 bytes, over the limit of 65536 (Options.MaxFieldBytes)`}
	testHugeFields(t, []hugeFieldCase{
		{
			name:   "json",
			opts:   Options{Format: JSON},
			parts:  []any{`[{"sku":"A-1"},{"sku":"A-2","description":"`, &repeat{'x', hugeField}, `","price":2},{"sku":"A-3"}]`},
			reason: reason,
		},
		{
			name:   "json with escapes and brackets in the string",
			opts:   Options{Format: JSON, RecordPath: "data.items"},
			parts:  []any{`{"data":{"items":[{"sku":"A-1"},{"sku":"A-2","more":{"description":"\"[{`, &repeat{'x', hugeField - 4}, `\\"}},{"sku":"A-3"}]}}`},
			reason: reason,
		},
		{
			name:   "jsonl",
			opts:   Options{Format: JSONL},
			parts:  []any{`{"sku":"A-1"}` + "\n" + `{"sku":"A-2","description":"`, &repeat{'x', hugeField}, `"}` + "\n" + `{"sku":"A-3"}` + "\n"},
			reason: reason,
		},
	})
}

func TestJSONBounds(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	veryDeep := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)
	tests := []struct {
		name   string
		format Format
		data   string
		opts   Options
		want   want
		kind   error
		reason string
		raw    string // how the reject's Raw starts
	}{
		{
			name:   "json nested deeper than the bound",
			format: JSON,
			data:   `[{"sku":"A-1"},{"sku":"A-2","x":` + deep + `},{"sku":"A-3"}]`,
			want:   want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}}, rejected: []int64{2}},
			kind:   ErrTooDeep,
			reason: "nested deeper than 32 objects or arrays (Options.MaxDepth)",
			raw:    `{"sku":"A-2","x":{"a":{"a":`,
		},
		{
			name:   "json nested 200k levels",
			format: JSON,
			data:   `[{"sku":"A-1"},{"x":` + veryDeep + `},{"sku":"A-3"}]`,
			want:   want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}}, rejected: []int64{2}},
			kind:   ErrTooDeep,
			reason: "nested deeper than 32",
		},
		{
			name:   "jsonl nested deeper than the bound",
			format: JSONL,
			data:   `{"sku":"A-1"}` + "\n" + `{"x":` + deep + "}\n" + `{"sku":"A-3"}` + "\n",
			want:   want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}}, rejected: []int64{2}},
			kind:   ErrTooDeep,
			reason: "nested deeper than 32 objects or arrays (Options.MaxDepth)",
		},
		{
			name:   "json field over the bound in a record under it",
			format: JSON,
			data:   `[{"sku":"A-1"},{"p":{"d":"` + strings.Repeat("d", 70_000) + `"}},{"sku":"A-3"}]`,
			want:   want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}}, rejected: []int64{2}},
			kind:   ErrTooLarge,
			reason: `field "p.d" is 70000 bytes, over the limit of 65536`,
		},
		{
			name:   "jsonl record over the bound, fields under it",
			format: JSONL,
			data:   `{"sku":"A-1"}` + "\n" + `{"a":"` + strings.Repeat("a", 60_000) + `","b":"` + strings.Repeat("b", 60_000) + `"}` + "\n" + `{"sku":"A-3"}` + "\n",
			opts:   Options{MaxRecordBytes: 100_000},
			want:   want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}, {Row: 3, Fields: fs("sku", "A-3")}}, rejected: []int64{2}},
			kind:   ErrTooLarge,
			reason: "record is 120015 bytes, over the limit of 100000 (Options.MaxRecordBytes)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = tt.format
			got := readBounded(t, strings.NewReader(tt.data), tt.opts, false, 8<<20)
			check(t, got, tt.want)
			wantRejected(t, got, 2, tt.kind, tt.reason)
			if raw := got.rejected[0].Raw; !strings.HasPrefix(raw, tt.raw) {
				t.Errorf("reject's Raw %.60q, want it to start %q", raw, tt.raw)
			}
		})
	}
}

func TestJSONInvalidUTF8(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		data   string
		opts   Options
		want   want
		reason string
	}{
		{
			name:   "json undeclared",
			format: JSON,
			data:   "[{\"name\":\"caf\xe9\"},{\"name\":\"\xfcn\xefc\xf6d\xe9\"},{\"name\":\"ok\"}]",
			want:   want{records: []Record{{Row: 3, Fields: fs("name", "ok")}}, rejected: []int64{1, 2}},
			reason: `json: field "name": invalid UTF-8 at byte 3; set the supplier's encoding`,
		},
		{
			name:   "json declared",
			format: JSON,
			data:   "[{\"name\":\"caf\xe9\"},{\"name\":\"\xfcn\xefc\xf6d\xe9\"},{\"name\":\"ok\"}]",
			opts:   Options{Encoding: "latin1"},
			want: want{records: []Record{
				{Row: 1, Fields: fs("name", "café")}, {Row: 2, Fields: fs("name", "ünïcödé")}, {Row: 3, Fields: fs("name", "ok")},
			}},
		},
		{
			name:   "jsonl undeclared",
			format: JSONL,
			data:   "{\"name\":\"caf\xe9\"}\n{\"d\\\"\":\"\xfcn\xefc\xf6d\xe9\\n\"}\n{\"name\":\"ok\"}\n",
			want:   want{records: []Record{{Row: 3, Fields: fs("name", "ok")}}, rejected: []int64{1, 2}},
			reason: `jsonl: field "name": invalid UTF-8 at byte 3; set the supplier's encoding`,
		},
		{
			name:   "jsonl declared",
			format: JSONL,
			data:   "{\"name\":\"caf\xe9\"}\n{\"d\":\"\xfcn\xefc\xf6d\xe9\\n\"}\n{\"name\":\"ok\"}\n",
			opts:   Options{Encoding: "windows-1252"},
			want: want{records: []Record{
				{Row: 1, Fields: fs("name", "café")}, {Row: 2, Fields: fs("d", "ünïcödé\n")}, {Row: 3, Fields: fs("name", "ok")},
			}},
		},
		{
			name:   "a lone surrogate escape",
			format: JSON,
			data:   `[{"name":"a\udc00b"},{"name":"\ufffd is fine"}]`,
			want:   want{records: []Record{{Row: 2, Fields: fs("name", "\ufffd is fine")}}, rejected: []int64{1}},
			reason: "lone UTF-16 surrogate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = tt.format
			got := run(t, []byte(tt.data), tt.opts)
			check(t, got, tt.want)
			for _, rerr := range got.rejected {
				if !strings.Contains(rerr.Error(), "UTF") {
					t.Errorf("rejected for %v, want invalid UTF-8", rerr)
				}
			}
			if tt.reason != "" && !strings.Contains(got.rejected[0].Error(), tt.reason) {
				t.Errorf("reason %q does not say %q", got.rejected[0].Error(), tt.reason)
			}
		})
	}
}

func TestJSONTruncated(t *testing.T) {
	tests := []struct {
		name, data, path string
		want             want
	}{
		{name: "array never closed", data: `[{"sku":"A-1"}` + "\n", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "cut after a comma", data: `[{"sku":"A-1"},`, want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "cut in a record", data: `[{"sku":"A-1"},{"sku":"A`, want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "wrapper never closed", data: `{"items":[{"sku":"A-1"}]`, path: "items", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrTruncated}},
		{name: "complete", data: `{"items":[{"sku":"A-1"}]}`, path: "items", want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}}},
		{name: "trailing comma", data: `[{"sku":"A-1"},]`, want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1")}}, err: ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, run(t, []byte(tt.data), Options{Format: JSON, RecordPath: tt.path}), tt.want)
		})
	}
}
