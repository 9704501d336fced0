package product

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

func TestMappingValidate(t *testing.T) {
	tests := []struct {
		name    string
		m       Mapping
		wantErr []string // substrings; nil = valid
	}{
		{"nil", nil, nil},
		{"partial", Mapping{"sku": "ProductID", "price": "Price"}, nil},
		{"every field", DefaultMapping("csv"), nil},
		{"attribute", Mapping{"attributes.color": "param:Color"}, nil},
		{"unmapped", Mapping{"description": Unmapped}, nil},
		{"unknown field", Mapping{"title": "Title"}, []string{
			`mapping: unknown field "title" (valid: attributes.<key>, availability, brand, category, currency, description, gtin, images, name, price, sku, stock, url)`,
		}},
		{"wrong case", Mapping{"SKU": "id"}, []string{`unknown field "SKU"`}},
		{"empty feed name", Mapping{"sku": ""}, []string{`mapping: field "sku" maps to an empty feed field name (use "-" to unmap it)`}},
		{"blank feed name", Mapping{"name": "  "}, []string{`field "name" maps to an empty feed field name`}},
		{"empty attribute key", Mapping{"attributes. ": "x"}, []string{`mapping: field "attributes. " has an empty attribute key`}},
		{"colliding attribute keys", Mapping{"attributes.Color": "a", "attributes.color": "b"}, []string{
			`mapping: fields "attributes.Color" and "attributes.color" name the same attribute "color"`,
		}},
		{"all problems reported", Mapping{"a": "x", "b": "y", "sku": ""}, []string{
			`unknown field "a"`, `unknown field "b"`, `field "sku" maps to an empty`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %v\nwant it to contain %s", err, want)
				}
			}
		})
	}
}

func TestDefaultMapping(t *testing.T) {
	tests := []struct {
		name, format string
		want         Mapping
	}{
		{"yml", "yml", Mapping{
			"sku": "@id", "name": "name", "brand": "vendor", "gtin": "barcode",
			"price": "price", "currency": "currencyId", "category": "categoryPath",
			"url": "url", "images": "picture", "description": "description",
			"availability": "@available", "stock": "count",
		}},
		{"yml any case", " YML ", nil}, // same as yml, checked below
		{"csv is identity", "csv", Mapping{
			"sku": "sku", "name": "name", "description": "description", "brand": "brand",
			"gtin": "gtin", "price": "price", "currency": "currency", "stock": "stock",
			"availability": "availability", "category": "category", "url": "url", "images": "images",
		}},
		{"unknown format is identity", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultMapping(tt.format)
			want := tt.want
			if want == nil {
				want = DefaultMapping(strings.ToLower(strings.TrimSpace(tt.format)))
				if tt.format == "" {
					want = DefaultMapping("csv")
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("DefaultMapping(%q) = %v, want %v", tt.format, got, want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("DefaultMapping(%q).Validate() = %v", tt.format, err)
			}
		})
	}
	// Callers may edit the result without affecting later calls.
	DefaultMapping("yml")["sku"] = "changed"
	if DefaultMapping("yml")["sku"] != "@id" {
		t.Error("DefaultMapping returned shared state")
	}
}

func TestNewNormalizer(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"zero options", Options{}, ""},
		{"yml with default currency", Options{Format: "yml", DefaultCurrency: "RUB"}, ""},
		{"RUR default read as RUB", Options{DefaultCurrency: "RUR"}, ""},
		{"bad mapping", Options{Mapping: Mapping{"colour": "c"}}, `product: new normalizer: mapping: unknown field "colour"`},
		{"bad default currency", Options{DefaultCurrency: "EURO"}, `product: new normalizer: default currency "EURO" is not an active ISO 4217 code`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewNormalizer(tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewNormalizer: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("NewNormalizer error = %v, want %s", err, tt.wantErr)
			}
		})
	}
}

// TestMappingOverridesDefaults checks that a partial mapping keeps the
// format defaults for the fields it does not name, and that Unmapped drops one.
func TestMappingOverridesDefaults(t *testing.T) {
	n := newNormalizer(t, Options{
		Format:          "csv",
		DefaultCurrency: "EUR",
		Mapping: Mapping{
			"sku": "ProductID", "price": "Price", "description": Unmapped,
			"attributes.Colour": "Farbe",
		},
	})
	p, err := n.Normalize(record{
		"ProductID": {"P-1"}, "name": {"Hammer"}, "Price": {"9,99"},
		"description": {"ignored"}, "Farbe": {"rot"}, "sku": {"not used"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.SKU != "P-1" || p.Name != "Hammer" || p.Price.String() != "9.99" || p.Description != "" {
		t.Errorf("Normalize = %+v", p)
	}
	if !maps.Equal(p.Attributes.Map(), map[string]string{"colour": "rot"}) {
		t.Errorf("Attributes = %v", p.Attributes)
	}
}

// TestScratchAttributeKey: a Scratch's cached param keys are attributeKey's,
// hit or miss, and the cache keeps at most maxCachedKeys names, none
// longer than maxCachedKeyLen.
func TestScratchAttributeKey(t *testing.T) {
	var s Scratch
	long := strings.Repeat("Ä", maxCachedKeyLen)
	names := []string{"Color", "COLOR", " Size ", "İstanbul", "e\u0301clat", long, ""}
	for i := range 2 * maxCachedKeys {
		names = append(names, fmt.Sprintf("Param %d", i))
	}
	for round := range 2 {
		for _, n := range names {
			if got, want := s.attributeKey(n), attributeKey(n); got != want {
				t.Fatalf("round %d: key of %q = %q, want %q", round, n, got, want)
			}
		}
	}
	if len(s.keys) > maxCachedKeys {
		t.Errorf("%d names cached, want at most %d", len(s.keys), maxCachedKeys)
	}
	if _, ok := s.keys[long]; ok {
		t.Errorf("a name of %d bytes is cached", len(long))
	}
	if got, want := (*Scratch)(nil).attributeKey("Color"), "color"; got != want {
		t.Errorf("without a Scratch: %q, want %q", got, want)
	}
}
