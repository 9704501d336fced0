package product

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Mapping maps canonical field names to feed field names, e.g.
// {"sku": "ProductID", "price": "Price"}. The canonical names are sku, name,
// description, brand, gtin, price, currency, stock, availability, category,
// url, images, and "attributes.<key>" for one attribute. The feed field "-"
// switches a canonical field off (useful to drop a default).
type Mapping map[string]string

// Unmapped is the feed field name that switches a canonical field off.
const Unmapped = "-"

// attributePrefix introduces an attribute in a Mapping key.
const attributePrefix = "attributes."

// field indexes the canonical scalar fields of a Mapping.
type field int

const (
	fieldSKU field = iota
	fieldName
	fieldDescription
	fieldBrand
	fieldGTIN
	fieldPrice
	fieldCurrency
	fieldStock
	fieldAvailability
	fieldCategory
	fieldURL
	fieldImages
	numFields
)

// fieldNames are the canonical names, indexed by field.
var fieldNames = [numFields]string{
	"sku", "name", "description", "brand", "gtin", "price", "currency",
	"stock", "availability", "category", "url", "images",
}

func lookupField(name string) (field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return field(i), true
		}
	}
	return 0, false
}

// validNames lists the accepted canonical names, sorted, for error messages.
func validNames() string {
	names := append(slices.Clone(fieldNames[:]), attributePrefix+"<key>")
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Validate reports every problem in m: unknown canonical names (the error
// lists the valid ones), attribute keys that are empty or collide once
// normalised ("attributes.Color" and "attributes.color"), and empty feed
// field names. Problems are reported
// in sorted key order.
func (m Mapping) Validate() error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	attrs := make(map[string]string) // normalised key -> mapping key
	for _, k := range keys {
		if _, ok := lookupField(k); !ok {
			key, isAttr := strings.CutPrefix(k, attributePrefix)
			if !isAttr {
				errs = append(errs, fmt.Errorf("mapping: unknown field %q (valid: %s)", k, validNames()))
				continue
			}
			key = attributeKey(key)
			if key == "" {
				errs = append(errs, fmt.Errorf("mapping: field %q has an empty attribute key", k))
				continue
			}
			if prev, dup := attrs[key]; dup {
				errs = append(errs, fmt.Errorf("mapping: fields %q and %q name the same attribute %q", prev, k, key))
			}
			attrs[key] = k
		}
		if strings.TrimSpace(m[k]) == "" {
			errs = append(errs, fmt.Errorf("mapping: field %q maps to an empty feed field name (use %q to unmap it)", k, Unmapped))
		}
	}
	return errors.Join(errs...)
}

// DefaultMapping returns the built-in mapping for a feed format, used for
// every canonical field the supplier does not map. A new map is returned on
// each call.
//
// For "yml" (Yandex Market Language) it maps an offer's own fields: sku
// from "@id", name from "name", brand from "vendor", gtin from "barcode",
// price from "price", currency from "currencyId", category from
// "categoryPath", url from "url", images from "picture", description from
// "description", availability from "@available" and stock from "count".
// Normalize adds, for yml only: a name built from typePrefix, vendor and
// model when "name" is empty, stock from "stock" when "count" is empty, and
// one attribute per "param:<Name>" field, keyed by the lower-cased name.
//
// For any other format every canonical name maps to itself (category to
// "category", images to "images"), so a feed already in canonical names
// needs no mapping.
func DefaultMapping(format string) Mapping {
	m := make(Mapping, numFields)
	if isYML(format) {
		for k, v := range ymlMapping {
			m[k] = v
		}
		return m
	}
	for _, n := range fieldNames {
		m[n] = n
	}
	return m
}

func isYML(format string) bool { return strings.EqualFold(strings.TrimSpace(format), "yml") }

var ymlMapping = map[string]string{
	"sku":          "@id",
	"name":         "name",
	"brand":        "vendor",
	"gtin":         "barcode",
	"price":        "price",
	"currency":     "currencyId",
	"category":     "categoryPath",
	"url":          "url",
	"images":       "picture",
	"description":  "description",
	"availability": "@available",
	"stock":        "count",
}

// ymlParamPrefix starts the field names of YML <param name="..."> elements.
const ymlParamPrefix = "param:"

// maxAttributeKeyLen bounds attribute keys, in characters; longer keys are
// truncated like other display text.
const maxAttributeKeyLen = 128

// attributeKey normalises an attribute key: trimmed, whitespace collapsed,
// lower-cased.
func attributeKey(k string) string {
	k = cleanText(k)
	if hasUpper(k) {
		k = norm.NFC.String(strings.ToLower(k)) // lower-casing may denormalise ("İ")
	}
	return truncateRunes(k, maxAttributeKeyLen)
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}
