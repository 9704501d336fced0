package feed

import (
	"fmt"
	"strings"
	"testing"
)

// TestRawTextsStay checks the text slabs of the CSV, JSON and JSON Lines
// readers (textSlab): the texts of raw records kept across many slabs,
// long records among them (past what a slab takes), read at the end as
// they were returned.
func TestRawTextsStay(t *testing.T) {
	for _, f := range []struct {
		name       string
		opts       Options
		head, tail string
		record     func(i int, name string) string
		sep        string
	}{
		{"csv", Options{Format: CSV}, "sku,name\n", "",
			func(i int, name string) string { return fmt.Sprintf("SKU-%d,%s", i, name) }, "\n"},
		{"json", Options{Format: JSON}, "[", "]",
			func(i int, name string) string { return fmt.Sprintf(`{"sku":"SKU-%d","name":"%s"}`, i, name) }, ","},
		{"jsonl", Options{Format: JSONL}, "", "",
			func(i int, name string) string { return fmt.Sprintf(`{"sku":"SKU-%d","name":"%s"}`, i, name) }, "\n"},
	} {
		t.Run(f.name, func(t *testing.T) {
			var doc strings.Builder
			doc.WriteString(f.head)
			want := make([]string, 0, 2000)
			for i := range cap(want) {
				n := i%300 + 1
				if i%97 == 0 {
					n = textSlabSize / 4
				}
				rec := f.record(i, strings.Repeat("n", n))
				if i > 0 {
					doc.WriteString(f.sep)
				}
				doc.WriteString(rec)
				want = append(want, rec)
			}
			doc.WriteString(f.tail)
			rawTextsStay(t, doc.String(), f.opts, want)
		})
	}
}
