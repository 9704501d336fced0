package product

import (
	"strings"
	"testing"
)

// goldenHashProducts covers every branch of the hash encoding: empty and
// nil fields, multi-byte length prefixes, an encoding longer than any
// scratch buffer, negative and large varints, many attributes.
func goldenHashProducts() map[string]Product {
	stock := func(v int64) *int64 { return &v }
	many := make(map[string]string)
	for _, k := range []string{"z", "a", "ä", "A", "color", "colour", "", "size", "size2", "ß"} {
		many[k] = strings.Repeat(k, 3) + "!"
	}
	return map[string]Product{
		"zero":   {},
		"sample": sampleProduct(),
		"minimal": {
			SKU: "X", Name: "Y", Price: Decimal{units: 0}, Currency: "USD",
			Availability: Unknown,
		},
		"unicode": {
			SKU: "АБВ-1", Name: "Молоток «Зубр» 500 г", Description: "Сталь, ручка — дерево",
			Brand: "Зубр", Price: Decimal{units: 12990000}, Currency: "RUB",
			Stock: stock(0), Availability: OutOfStock,
			CategoryPath: []string{"Инструменты", "Молотки"},
			Attributes:   Attributes{{"вес", "0,5 кг"}},
		},
		"long": {
			SKU: strings.Repeat("s", 128), Name: strings.Repeat("Name ", 100),
			Description: strings.Repeat("Описание товара. ", 200), Brand: strings.Repeat("b", 200),
			GTIN: "012345678905", Price: Decimal{units: maxDecimalUnits}, Currency: "EUR",
			Stock: stock(1 << 62), Availability: Preorder,
			CategoryPath: []string{strings.Repeat("c", 300), "", "d"},
			URL:          "https://x.example/" + strings.Repeat("p", 1500),
			Images:       []string{"https://x.example/1.jpg", strings.Repeat("i", 130)},
			Attributes:   AttributesOf(many),
		},
		"negative stock": {SKU: "N", Stock: stock(-7), Images: []string{}},
	}
}

// TestHashGolden pins Hash to the values stored in databases: if this fails,
// the encoding changed and hashVersion must be bumped instead.
func TestHashGolden(t *testing.T) {
	want := map[string]string{
		"zero":           "241be36e4aa100a98ae5e3903da4d9797b526d8deab52f1aaf4543f6a8c5d4eb",
		"sample":         "f0868337e1f1487ecb7ef0b933042c8467e90ea79ccd70f54f0c3c14caf1057e",
		"minimal":        "8ca67f3d0a5f0d7ebd3a3e634b4315077bcf6d94fb40301a02a01395d6a9ff26",
		"unicode":        "e5fab34d8400ff08cc27e38cca4652fb1bf3c8580fbd0d1804c7fa21e5ccfb7b",
		"long":           "90c533566a932adbb68066dac8c2c3e88f96d1fe0c6c533ae8d4a0c829174731",
		"negative stock": "5aa6b687db57632fbe99d39d904f7039cdae36f122d438d365d76c3c0d103f04",
	}
	for name, p := range goldenHashProducts() {
		if got := p.Hash(); got != want[name] {
			t.Errorf("%s: Hash() = %q, want %q", name, got, want[name])
		}
	}
}
