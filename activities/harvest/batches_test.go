package harvest

import (
	"context"
	"fmt"
	"testing"
)

func TestDoneRows(t *testing.T) {
	d := doneRows{prefix: 10, ranges: [][2]int64{{20, 30}, {40, 41}}}
	for row, want := range map[int64]bool{1: true, 10: true, 11: false, 20: false, 21: true, 30: true, 31: false, 41: true, 42: false} {
		if d.has(row) != want {
			t.Errorf("has(%d) = %v, want %v", row, !want, want)
		}
	}
	if got := d.literal(); got != "{(0,10],(20,30],(40,41]}" {
		t.Errorf("literal = %s", got)
	}
	if got := (doneRows{}).literal(); got != "{}" {
		t.Errorf("empty literal = %s", got)
	}
}

// TestCutBatches: batches of size rows covering consecutive row ranges, and
// a retroactive slim row never separated from the row after it.
func TestCutBatches(t *testing.T) {
	in := make(chan []item, 8)
	var chunk []item
	for row := int64(101); row <= 110; row++ {
		if row == 104 {
			// row 104 repeats a SKU first seen (unchanged) at row 2
			chunk = append(chunk, item{row: 2, retro: true, valid: true, tuple: tuple{}})
		}
		chunk = append(chunk, item{row: row, valid: true, tuple: tuple{}})
		if len(chunk) >= 3 {
			in <- chunk
			chunk = nil
		}
	}
	in <- chunk
	close(in)
	out := make(chan *batchSource, 16)
	if err := cut(context.Background(), in, 100, 3, out); err != nil {
		t.Fatal(err)
	}
	close(out)
	var got []string
	for b := range out {
		var rows []int64
		for c := range b.items {
			for _, it := range c {
				rows = append(rows, it.row)
			}
		}
		got = append(got, fmt.Sprintf("(%d]%v", b.lo, rows))
	}
	want := "[(100][101 102 103] (103][2 104 105] (105][106 107 108] (108][109 110]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("batches %v\nwant %s", got, want)
	}
}
