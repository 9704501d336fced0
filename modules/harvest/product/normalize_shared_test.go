package product

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestNormalizeSharedSlices checks that the category path and the images,
// which share one allocation, cannot overwrite each other.
func TestNormalizeSharedSlices(t *testing.T) {
	n := newNormalizer(t, Options{DefaultCurrency: "EUR"})
	p, err := n.Normalize(record{
		"sku": {"A"}, "name": {"B"}, "price": {"1"}, "category": {"X/Y"},
		"images": {"https://x.example/1.jpg https://x.example/2.jpg"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p.CategoryPath, "Z")
	if want := []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}; !slices.Equal(p.Images, want) {
		t.Errorf("Images = %q after appending to CategoryPath, want %q", p.Images, want)
	}
}

// TestNormalizeReusing normalises records one after another with one
// buffer and checks each Product, and each reject, against Normalize's;
// that the buffer's array is reused once it is large enough; and that the
// two slices in it cannot overwrite each other.
func TestNormalizeReusing(t *testing.T) {
	n := newNormalizer(t, Options{DefaultCurrency: "EUR"})
	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("https://x.example/%d.jpg", i))
	}
	recs := []record{
		{"sku": {"A"}, "name": {"B"}, "price": {"1"}, "category": {"X/Y/Z"},
			"images": {"https://x.example/1.jpg https://x.example/2.jpg"}},
		{"sku": {"C"}, "name": {"D"}, "price": {"2"}},
		{"sku": {"E"}, "name": {"F"}, "price": {"3"}, "images": {"https://x.example/3.jpg"}},
		{"sku": {"G"}, "name": {"H"}, "price": {"4"}, "category": {"Q"}},
		{"sku": {"I"}, "price": {"5"}, "category": {"R/S"}},
		{"sku": {"J"}, "name": {"K"}, "price": {"6"}, "category": {"1/2/3/4/5/6/7/8/9/10"},
			"images": {strings.Join(many, " ")}},
		{"sku": {"L"}, "name": {"M"}, "price": {"7"}, "category": {"T/U"},
			"images": {"https://x.example/4.jpg"}},
	}
	var buf []string
	for i, rec := range recs {
		want, wantErr := n.Normalize(rec)
		got, next, err := n.NormalizeReusing(rec, buf)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("record %d: error %v, Normalize's %v", i, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d: %+v, Normalize's %+v", i, got, want)
		}
		if err == nil && got.Hash() != want.Hash() {
			t.Errorf("record %d: hash differs from Normalize's", i)
		}
		if used := len(got.CategoryPath) + len(got.Images); used > 0 && used <= cap(buf) && &next[:1][0] != &buf[:1][0] {
			t.Errorf("record %d: a new array for %d strings, where the buffer holds %d", i, used, cap(buf))
		}
		if len(got.CategoryPath) > 0 && len(got.Images) > 0 {
			images := slices.Clone(got.Images)
			_ = append(got.CategoryPath, "appended")
			if !slices.Equal(got.Images, images) {
				t.Errorf("record %d: Images = %q after appending to CategoryPath, want %q", i, got.Images, images)
			}
		}
		buf = next
	}
	if cap(buf) < 22 {
		t.Errorf("the buffer holds %d strings; the widest record needed 22", cap(buf))
	}
	if _, _, err := n.NormalizeReusing(nil, buf); err == nil {
		t.Error("a nil record was accepted")
	}
}
