package feed

import (
	"slices"
	"strings"
	"testing"
)

// TestRecordLookups: GetAt, from any position, and AppendAll answer what
// Get and All do for every name of CSV records, with a header that repeats
// names (GetAt must then not trust a position) and with one that does not.
func TestRecordLookups(t *testing.T) {
	for _, data := range []string{
		"a,b,c,d\n1,2,3,4\n,2,,4\n1,,3,\n",
		"a,b,a,c,b\n1,2,3,4,5\n,2,3,,5\n1,,,4,\n,,3,4,5\n",
	} {
		r, err := Open(strings.NewReader(data), Options{Format: CSV})
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			for _, name := range []string{"a", "b", "c", "d", "e"} {
				for at := -1; at <= len(rec.Fields)+1; at++ {
					pos := max(at, 0)
					if got, want := rec.GetAt(name, &pos), rec.Get(name); got != want {
						t.Errorf("%q row %d: GetAt(%q) from %d = %q, Get %q", data, rec.Row, name, at, got, want)
					}
				}
				if got, want := rec.AppendAll([]string{"x"}, name), append([]string{"x"}, rec.All(name)...); !slices.Equal(got, want) {
					t.Errorf("%q row %d: AppendAll(%q) = %q, want %q", data, rec.Row, name, got, want)
				}
			}
		}
	}
}
