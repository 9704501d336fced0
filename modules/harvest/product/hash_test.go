package product

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func sampleProduct() Product {
	stock := int64(5)
	return Product{
		SKU:          "A1",
		Name:         "Hammer",
		Description:  "Steel",
		Brand:        "ACME",
		GTIN:         "4006381333931",
		Price:        Decimal{units: 125000},
		Currency:     "EUR",
		Stock:        &stock,
		Availability: InStock,
		CategoryPath: []string{"Tools", "Hammers"},
		URL:          "https://x.example/p/a1",
		Images:       []string{"https://x.example/1.jpg", "https://x.example/2.jpg"},
		Attributes:   AttributesOf(map[string]string{"color": "red", "weight": "1 kg", "size": "L"}),
	}
}

func TestHashStable(t *testing.T) {
	p := sampleProduct()
	h := p.Hash()
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("Hash() = %q, want 64 hex characters", h)
	}
	if got := p.Hash(); got != h {
		t.Fatalf("Hash() changed between calls: %s then %s", h, got)
	}
	q := sampleProduct()
	// Built by hand, out of order: hashed in key order all the same, and
	// left as it was.
	q.Attributes = Attributes{{"size", "L"}, {"weight", "1 kg"}, {"color", "red"}}
	other := int64(5)
	q.Stock = &other // a different pointer to an equal value
	if q.Hash() != h {
		t.Error("equal products hash differently")
	}
	if q.Attributes[0].Key != "size" {
		t.Errorf("Hash reordered the product's attributes: %v", q.Attributes)
	}
}

func TestHashNilEqualsEmpty(t *testing.T) {
	a, b := sampleProduct(), sampleProduct()
	a.CategoryPath, a.Images, a.Attributes = nil, nil, nil
	b.CategoryPath, b.Images, b.Attributes = []string{}, []string{}, Attributes{}
	if a.Hash() != b.Hash() {
		t.Error("nil and empty collections hash differently")
	}
}

func TestHashChangesWithEveryField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Product)
	}{
		{"sku", func(p *Product) { p.SKU = "A2" }},
		{"name", func(p *Product) { p.Name = "Hammer!" }},
		{"description", func(p *Product) { p.Description = "" }},
		{"brand", func(p *Product) { p.Brand = "ACME Inc" }},
		{"gtin", func(p *Product) { p.GTIN = "" }},
		{"price", func(p *Product) { p.Price = Decimal{units: 125001} }},
		{"currency", func(p *Product) { p.Currency = "USD" }},
		{"stock value", func(p *Product) { v := int64(6); p.Stock = &v }},
		{"stock unknown", func(p *Product) { p.Stock = nil }},
		{"stock zero vs unknown", func(p *Product) { v := int64(0); p.Stock = &v }},
		{"availability", func(p *Product) { p.Availability = Preorder }},
		{"category segment", func(p *Product) { p.CategoryPath = []string{"Tools", "Mallets"} }},
		{"category split differently", func(p *Product) { p.CategoryPath = []string{"ToolsHammers"} }},
		{"category order", func(p *Product) { p.CategoryPath = []string{"Hammers", "Tools"} }},
		{"url", func(p *Product) { p.URL = "https://x.example/p/a2" }},
		{"image added", func(p *Product) { p.Images = append(p.Images, "https://x.example/3.jpg") }},
		{"image order", func(p *Product) { p.Images = []string{p.Images[1], p.Images[0]} }},
		{"attribute value", func(p *Product) { editAttributes(p, func(m map[string]string) { m["color"] = "blue" }) }},
		{"attribute added", func(p *Product) { editAttributes(p, func(m map[string]string) { m["finish"] = "matte" }) }},
		{"attribute removed", func(p *Product) { editAttributes(p, func(m map[string]string) { delete(m, "size") }) }},
		{"attribute key", func(p *Product) {
			editAttributes(p, func(m map[string]string) { delete(m, "size"); m["sizes"] = "L" })
		}},
		{"text moved between fields", func(p *Product) { p.Name, p.Description = "HammerSteel", "" }},
		{"text moved across boundary", func(p *Product) { p.Name, p.Description = "Hamme", "rSteel" }},
	}
	base := sampleProduct()
	want := base.Hash()
	stored, _ := base.StoredHash()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sampleProduct()
			tt.mutate(&p)
			if p.Hash() == want {
				t.Errorf("Hash() unchanged after changing %s", tt.name)
			}
			if text, _ := p.StoredHash(); text == stored {
				t.Errorf("StoredHash() unchanged after changing %s", tt.name)
			}
		})
	}
}

// TestLegacyHashKeyIsHashsPrefix: LegacyHashKey is the first
// StoredHashDigits digits of Hash as a big-endian number, which rows
// written before migration 0021 keep, in lower case.
func TestLegacyHashKeyIsHashsPrefix(t *testing.T) {
	for name, p := range goldenHashProducts() {
		full := p.Hash()
		if want, err := strconv.ParseUint(full[:StoredHashDigits], 16, 64); err != nil || p.LegacyHashKey() != want {
			t.Errorf("%s: LegacyHashKey %x, want %x (%v)", name, p.LegacyHashKey(), want, err)
		}
		if s := SchemeOf(full[:StoredHashDigits]); s != LegacyHash && s != EitherHash {
			t.Errorf("%s: the scheme of %s is %d", name, full[:StoredHashDigits], s)
		}
	}
}

// TestStoredHashGolden pins StoredHash, which rows keep: XXH64 of Hash's
// encoding, its digits in upper case (and its key the same number), which
// SchemeOf tells from Hash's.
func TestStoredHashGolden(t *testing.T) {
	want := map[string]string{
		"zero":           "8B7815853CE8FF2C",
		"sample":         "5423E0D1FF5BAB70",
		"minimal":        "2B628C918BA51CEE",
		"unicode":        "4405CA600631F3DC",
		"long":           "E9B122394149FAB5",
		"negative stock": "B718C0F757D63F08",
	}
	for name, p := range goldenHashProducts() {
		text, key := p.StoredHash()
		if string(text[:]) != want[name] {
			t.Errorf("%s: StoredHash() = %s, want %s", name, text, want[name])
		}
		if k, err := strconv.ParseUint(string(text[:]), 16, 64); err != nil || k != key {
			t.Errorf("%s: key %x, digits %s (%v)", name, key, text, err)
		}
		if s := SchemeOf(text[:]); s != XXHash {
			t.Errorf("%s: the scheme of %s is %d", name, text, s)
		}
	}
	for stored, scheme := range map[string]HashScheme{"0123456789abcdef": LegacyHash, "0123456789ABCDEF": XXHash,
		"0123456789012345": EitherHash, "f" + strings.Repeat("0", 63): LegacyHash, "": EitherHash} {
		if got := SchemeOf(stored); got != scheme {
			t.Errorf("SchemeOf(%q) = %d, want %d", stored, got, scheme)
		}
	}
}

// editAttributes changes p's attributes through a map, as a caller holding
// them as one would, and stores them back sorted.
func editAttributes(p *Product, edit func(map[string]string)) {
	m := p.Attributes.Map()
	edit(m)
	p.Attributes = AttributesOf(m)
}
