package harvest

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"contextworker/modules/harvest/product"
)

// TestNumeric4 checks the base-10000 digits of numeric(18,4) values; the
// integration tests send them through a real COPY.
func TestNumeric4(t *testing.T) {
	for _, tc := range []struct {
		units int64
		want  string // ndigits weight dscale digits
	}{
		{0, "0 0 4 []"},
		{1, "1 -1 4 [1]"},                        // 0.0001
		{89900, "2 0 4 [8 9900]"},                // 8.99
		{10000, "1 0 4 [1]"},                     // 1
		{100000000, "2 1 4 [1 0]"},               // 10000
		{123456785000, "3 1 4 [1234 5678 5000]"}, // 12345678.5
		{999_999_999_999_999_999, "5 3 4 [99 9999 9999 9999 9999]"},
	} {
		b := tuple{}.numeric4(tc.units)
		size := binary.BigEndian.Uint32(b)
		f := b[4:]
		if int(size) != len(f) {
			t.Fatalf("%d: length %d, %d bytes follow", tc.units, size, len(f))
		}
		n := binary.BigEndian.Uint16(f)
		weight := int16(binary.BigEndian.Uint16(f[2:]))
		var digits []uint16
		for i := range int(n) {
			digits = append(digits, binary.BigEndian.Uint16(f[8+2*i:]))
		}
		got := fmt.Sprintf("%d %d %d %v", n, weight, binary.BigEndian.Uint16(f[6:]), digits)
		if got != tc.want {
			t.Errorf("numeric4(%d) = %s, want %s", tc.units, got, tc.want)
		}
	}
}

func TestJSONString(t *testing.T) {
	got := string(appendJSONString(nil, "a\"b\\c\n\x01é\xff"))
	want := `"a\"b\\c\u000a\u0001é` + "\ufffd" + `"`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestLoadTupleFieldsMatchColumns: a first load's tuple has one field per
// column it is copied into, with attributes and without.
func TestLoadTupleFieldsMatchColumns(t *testing.T) {
	p := product.Product{SKU: "S", Name: "n", Currency: "EUR", Availability: product.InStock, Attributes: product.Attributes{{Key: "colour", Value: "red"}}}
	hash := p.HexHash()
	for _, attributes := range []bool{true, false} {
		if !attributes {
			p.Attributes = nil
		}
		tu := loadTuple(nil, 1, &p, hash[:], 7, attributes)
		fields, n := int(binary.BigEndian.Uint16(tu)), 0
		for rest := tu[2:]; len(rest) > 0; n++ {
			size := int32(binary.BigEndian.Uint32(rest))
			rest = rest[4:]
			if size > 0 {
				rest = rest[size:]
			}
		}
		if cols := len(loadColumnsOf(attributes)); fields != cols || n != cols {
			t.Fatalf("attributes %v: the tuple says %d fields and holds %d; %d columns", attributes, fields, n, cols)
		}
	}
	if slices.Contains(loadColumnsOf(false), "attributes") || !slices.Contains(loadColumnsOf(true), "attributes") {
		t.Fatal("loadColumnsOf does not follow its argument")
	}
}
