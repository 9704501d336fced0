package feed

import (
	"strings"
	"testing"
)

// recordPathDoc holds <product> elements at three places: only the ones
// under catalog/products are the catalogue's records.
const recordPathDoc = `<?xml version="1.0"?>
<catalog>
  <featured><product><sku>F-1</sku></product></featured>
  <products>
    <product id="1"><sku>A-1</sku><related><product><sku>R-1</sku></product></related></product>
    <product id="2"><sku>A-2</sku></product>
  </products>
  <products><product id="3"><sku>A-3</sku></product></products>
</catalog>`

func TestXMLRecordPath(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want want
	}{
		{
			name: "any depth without a path",
			opts: Options{RecordElement: "product"},
			want: want{records: []Record{
				{Row: 1, Fields: fs("sku", "F-1")},
				{Row: 2, Fields: fs("@id", "1", "sku", "A-1", "related.product.sku", "R-1")},
				{Row: 3, Fields: fs("@id", "2", "sku", "A-2")},
				{Row: 4, Fields: fs("@id", "3", "sku", "A-3")},
			}},
		},
		{
			name: "path selects the catalogue's products",
			opts: Options{RecordPath: "catalog.products.product"},
			want: want{records: []Record{
				{Row: 1, Fields: fs("@id", "1", "sku", "A-1", "related.product.sku", "R-1")},
				{Row: 2, Fields: fs("@id", "2", "sku", "A-2")},
				{Row: 3, Fields: fs("@id", "3", "sku", "A-3")},
			}},
		},
		{
			name: "path with a matching record element and prefixes",
			opts: Options{RecordPath: "catalog.x:featured.product", RecordElement: "g:product"},
			want: want{records: []Record{{Row: 1, Fields: fs("sku", "F-1")}}},
		},
		{
			name: "path that must start at the root",
			opts: Options{RecordPath: "products.product"},
			want: want{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = XML
			check(t, run(t, []byte(recordPathDoc), tt.opts), tt.want)
		})
	}
}

func TestXMLRecordPathOptions(t *testing.T) {
	tests := []struct {
		name, path, element, wantErr string
	}{
		{name: "neither", wantErr: "needs Options.RecordElement or Options.RecordPath"},
		{name: "empty name", path: "catalog..product", wantErr: "empty element name"},
		{name: "disagreeing element", path: "catalog.products.product", element: "offer", wantErr: `ends in "product"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader("<a/>"), Options{Format: XML, RecordPath: tt.path, RecordElement: tt.element})
			if err == nil {
				_ = r.Close()
				t.Fatal("NewReader succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
