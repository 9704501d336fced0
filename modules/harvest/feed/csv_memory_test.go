package feed

import (
	"reflect"
	"testing"
)

// TestCSVRecordsOwnTheirMemory checks the Record contract against the
// buffers and the Field slab the CSV reader shares between records: a
// record stays intact after later calls to Next, and appending to one
// record's Fields cannot overwrite the next record's.
func TestCSVRecordsOwnTheirMemory(t *testing.T) {
	data := []byte("sku,name\nA-1,first\nA-2,  second  \nA-3,\"third, quoted\"\nA-4, caf\u00e9 \n")
	want := [][]Field{
		fs("sku", "A-1", "name", "first"),
		fs("sku", "A-2", "name", "second"),
		fs("sku", "A-3", "name", "third, quoted"),
		fs("sku", "A-4", "name", "caf\u00e9"),
	}
	got := run(t, data, Options{Format: CSV})
	if len(got.records) != len(want) {
		t.Fatalf("got %d records, want %d", len(got.records), len(want))
	}
	first := got.records[0]
	_ = append(first.Fields, Field{Name: "extra", Value: "x"})
	for i, rec := range got.records {
		if !reflect.DeepEqual(rec.Fields, want[i]) {
			t.Errorf("record %d Fields = %v, want %v", i+1, rec.Fields, want[i])
		}
	}
	if raw := got.records[2].Raw; raw != "A-3,third, quoted" {
		t.Errorf("record 3 Raw = %q", raw)
	}
}
