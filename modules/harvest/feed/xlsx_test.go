package feed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// writeXLSX builds a workbook in a temporary directory and returns its
// bytes. Sheets are written in order; a nil cell leaves the cell empty.
func writeXLSX(t *testing.T, sheets map[string][][]any, order ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range order {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[name] {
			cell, err := excelize.CoordinatesToCellName(1, r+1)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "good.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestXLSX(t *testing.T) {
	good := writeXLSX(t, map[string][][]any{
		"Products": {
			{" sku ", "name", "price", "image", "image", "barcode"},
			{"X-1", "Чайник", 19.99, "a.jpg", "b.jpg", 4600000000017},
			{nil, nil, nil, nil, nil, nil},
			{"X-2", "  Mug  ", 0.1, nil, "c.jpg", "00123"},
			{"X-3", nil, 1234.5, nil, nil, nil, "beyond the header"},
		},
		"Other": {
			{"id"},
			{"O-1"},
		},
	}, "Products", "Other")
	empty := writeXLSX(t, map[string][][]any{"Empty": nil}, "Empty")
	tests := []struct {
		name  string
		data  []byte
		sheet string
		want  want
	}{
		{
			name: "first sheet",
			data: good,
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "X-1", "name", "Чайник", "price", "19.99", "image", "a.jpg", "image", "b.jpg", "barcode", "4600000000017")},
				{Row: 2, Fields: fs("sku", "X-2", "name", "Mug", "price", "0.1", "image", "c.jpg", "barcode", "00123")},
				{Row: 3, Fields: fs("sku", "X-3", "price", "1234.5")},
			}},
		},
		{
			name:  "named sheet",
			data:  good,
			sheet: "Other",
			want:  want{records: []Record{{Row: 1, Fields: fs("id", "O-1")}}},
		},
		{name: "empty sheet", data: empty, want: want{err: ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, run(t, tt.data, Options{Format: XLSX, Sheet: tt.sheet}), tt.want)
		})
	}
}

func TestXLSXOpenErrors(t *testing.T) {
	good := writeXLSX(t, map[string][][]any{"Products": {{"sku"}, {"X-1"}}}, "Products")
	tests := []struct {
		name  string
		data  []byte
		sheet string
	}{
		{name: "missing sheet", data: good, sheet: "Nope"},
		{name: "not a workbook", data: readFile(t, "good.csv")},
		{name: "truncated workbook", data: good[:len(good)/2]},
		{name: "empty input", data: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data), Options{Format: XLSX, Sheet: tt.sheet})
			if err == nil {
				_ = r.Close()
				t.Fatal("NewReader succeeded, want ErrMalformed")
			}
			if r != nil {
				t.Error("NewReader returned a Reader along with its error")
			}
			check(t, result{err: err}, want{err: ErrMalformed})
		})
	}
}

func TestXLSXRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	data := writeXLSX(t, map[string][][]any{"S": {{"a"}, {"1"}}}, "S")
	r, err := NewReader(bytes.NewReader(data), Options{Format: XLSX})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("temporary file %s left behind", e.Name())
	}
}

func TestCellValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "short number", in: "19.99", want: "19.99"},
		{name: "float noise", in: "19.989999999999998", want: "19.99"},
		{name: "float noise up", in: "0.30000000000000004", want: "0.3"},
		{name: "long integer kept", in: "46000000000000170001", want: "46000000000000170001"},
		{name: "text kept", in: "ABC-1234567890.12345", want: "ABC-1234567890.12345"},
		{name: "exponent", in: "1.2345678901234567E+20", want: "1.23456789012346e+20"},
		{name: "trimmed", in: "  x ", want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cellValue(tt.in); got != tt.want {
				t.Errorf("cellValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestXLSXBounds(t *testing.T) {
	data := writeXLSX(t, map[string][][]any{"Sheet1": {
		{"sku", "name", "note"},
		{"A-1", "short", "x"},
		{"A-2", "a name that is too long", "x"},
		{"A-3", "twelve bytes", "twelve bytes"},
		{"A-4", "ok", "y"},
	}}, "Sheet1")
	got := run(t, data, Options{Format: XLSX, MaxFieldBytes: 12, MaxRecordBytes: 20})
	check(t, got, want{
		records: []Record{
			{Row: 1, Fields: fs("sku", "A-1", "name", "short", "note", "x")},
			{Row: 4, Fields: fs("sku", "A-4", "name", "ok", "note", "y")},
		},
		rejected: []int64{2, 3},
	})
	if msg := got.rejected[0].Error(); !strings.Contains(msg, `field "name" is 23 bytes, over the limit of 12`) {
		t.Errorf("reason %q does not name the field, its size and the limit", msg)
	}
	if msg := got.rejected[1].Error(); !strings.Contains(msg, "record is 27 bytes, over the limit of 20") {
		t.Errorf("reason %q does not give the record's size and the limit", msg)
	}
}
