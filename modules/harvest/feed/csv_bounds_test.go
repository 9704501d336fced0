package feed

import (
	"bytes"
	"strings"
	"testing"
)

// hugeFieldCase is a feed whose second record holds one field of 32 MiB,
// between two small records.
type hugeFieldCase struct {
	name   string
	opts   Options
	parts  []any
	reason []string // what the rejection must say
}

// testHugeFields reads each case plainly and gzipped through Open, checking
// that the huge record is rejected with its reason, the others are read and
// reading allocates under 8 MiB, a quarter of the huge field.
func testHugeFields(t *testing.T, cases []hugeFieldCase) {
	t.Helper()
	for _, tt := range cases {
		for _, gz := range []bool{false, true} {
			name := tt.name
			r := feedOf(tt.parts...)
			if gz {
				name += " gzipped"
				r = bytes.NewReader(gzipped(t, r))
			}
			t.Run(name, func(t *testing.T) {
				got := readBounded(t, r, tt.opts, gz, 8<<20)
				wantRejected(t, got, 2, ErrTooLarge, tt.reason...)
				if len(got.records) != 2 || got.records[0].Get("sku") != "A-1" || got.records[1].Get("sku") != "A-3" || got.err != nil {
					t.Errorf("records %v, error %v; want A-1 and A-3, then io.EOF", got.records, got.err)
				}
			})
		}
	}
}

const hugeField = 32 << 20

func TestCSVHugeField(t *testing.T) {
	fieldReason := []string{`field "description" is 33554432 bytes, over the limit of 65536 (Options.MaxFieldBytes)`}
	testHugeFields(t, []hugeFieldCase{
		{
			name:   "unquoted",
			opts:   Options{Format: CSV},
			parts:  []any{"sku,description,price\nA-1,small,1\nA-2,", &repeat{'x', hugeField}, ",2\nA-3,small,3\n"},
			reason: append(fieldReason, "line 3:"),
		},
		{
			name: "quoted with newlines, delimiters and quotes",
			opts: Options{Format: CSV},
			parts: []any{"sku,description,price\nA-1,small,1\nA-2,\"", &repeat{'x', hugeField / 4}, "\n,\"\"",
				&repeat{'y', hugeField/4*3 - 3}, "\",2\nA-3,small,3\n"},
			reason: fieldReason,
		},
	})
}

func TestCSVBounds(t *testing.T) {
	wide := strings.Repeat("w", 60<<10)
	tests := []struct {
		name   string
		data   string
		opts   Options
		want   want
		reason string
	}{
		{
			name: "a field over the bound in a row under the record bound",
			data: "sku,d\nA-1,x\nA-2," + strings.Repeat("d", 100_000) + "\nA-3,y\n",
			want: want{
				records:  []Record{{Row: 1, Fields: fs("sku", "A-1", "d", "x")}, {Row: 3, Fields: fs("sku", "A-3", "d", "y")}},
				rejected: []int64{2},
			},
			reason: `line 3: field "d" is 100000 bytes, over the limit of 65536`,
		},
		{
			name: "a row over the record bound, every field under the field bound",
			data: "sku,a,b\nA-1,x,y\nA-2" + strings.Repeat(","+wide, 2) + "\nA-3,x,y\n",
			opts: Options{MaxRecordBytes: 100_000},
			want: want{
				records:  []Record{{Row: 1, Fields: fs("sku", "A-1", "a", "x", "b", "y")}, {Row: 3, Fields: fs("sku", "A-3", "a", "x", "b", "y")}},
				rejected: []int64{2},
			},
			reason: "over the limit of 100000 (Options.MaxRecordBytes)",
		},
		{
			name: "a long last row without a newline",
			data: "sku,d\nA-1,x\nA-2," + strings.Repeat("d", 100_000),
			opts: Options{MaxRecordBytes: 50_000},
			want: want{
				records:  []Record{{Row: 1, Fields: fs("sku", "A-1", "d", "x")}},
				rejected: []int64{2},
			},
			reason: `line 3: field "d" is 100000 bytes, over the limit of 65536`,
		},
		{
			name:   "a lower field bound",
			data:   "sku,d\nA-1,abcdef\nA-2,abc\n",
			opts:   Options{MaxFieldBytes: 5},
			want:   want{records: []Record{{Row: 2, Fields: fs("sku", "A-2", "d", "abc")}}, rejected: []int64{1}},
			reason: `field "d" is 6 bytes, over the limit of 5`,
		},
		{
			name: "an open quote running to the end is truncation",
			data: "sku,d\nA-1,x\nA-2,\"" + strings.Repeat("x,y\n", 100_000),
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "A-1", "d", "x")}}, err: ErrTruncated},
		},
		{
			name: "a header over the record bound",
			data: "sku," + strings.Repeat("h", 2000) + "\nA-1,x\n",
			opts: Options{MaxRecordBytes: 1000},
			want: want{err: ErrMalformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = CSV
			got := readBounded(t, strings.NewReader(tt.data), tt.opts, false, 4<<20)
			check(t, got, tt.want)
			if tt.reason != "" {
				wantRejected(t, got, tt.want.rejected[0], ErrTooLarge, tt.reason)
			}
		})
	}
}
