package product

import (
	"slices"
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
