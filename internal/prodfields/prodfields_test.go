package prodfields

import (
	"strings"
	"testing"
)

func TestColumnsAreOneBitEach(t *testing.T) {
	var seen Set
	for i, c := range columns {
		if c.bit == 0 || c.bit&(c.bit-1) != 0 || seen.Has(c.bit) {
			t.Fatalf("column %s: bit %#x is not a bit of its own", c.column, uint32(c.bit))
		}
		// The bits are stored: each is its place in the list, for ever.
		if c.bit != 1<<i {
			t.Fatalf("column %s has bit %#x, want %#x", c.column, uint32(c.bit), 1<<i)
		}
		seen |= c.bit
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		s    Set
		want string
	}{
		{0, "none"}, {All, "all"}, {Price, "price"}, {Name | Stock, "name,stock"}, {Attributes | 1<<20, "attributes,bits 0x100000"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%#x: %q, want %q", uint32(c.s), got, c.want)
		}
	}
}

func TestFromStored(t *testing.T) {
	if FromStored(nil) != All {
		t.Fatal("NULL is not every column")
	}
	v := int32(Price | GTIN)
	if FromStored(&v) != Price|GTIN {
		t.Fatalf("%d read back as %s", v, FromStored(&v))
	}
}

func TestChangedSQL(t *testing.T) {
	sql := ChangedSQL("p", "excluded")
	for _, c := range columns {
		if !strings.Contains(sql, "p."+c.column+" IS DISTINCT FROM excluded."+c.column+" THEN ") {
			t.Errorf("%s: not compared in %s", c.column, sql)
		}
	}
}
