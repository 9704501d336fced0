// Package prodfields names the product columns a harvest merge can change,
// as bits of a mask: harvest records which of them each update changed
// (product_changes.fields, migration 0019), and the gardener's enrichers
// declare which of them they read, so that an incremental run skips the
// products none of whose read fields changed (a new price, when no
// enricher reads prices).
//
// The bits are stored in the database: a bit's value never changes, and a
// removed column's bit is never reused.
package prodfields

import (
	"fmt"
	"strings"
)

// Set is a set of product columns.
type Set uint32

// The columns, one bit each.
const (
	Name Set = 1 << iota
	Description
	Brand
	GTIN
	Price
	Currency
	Stock
	Availability
	CategoryPath
	ProductURL
	ImageURLs
	Attributes

	// All is every column, those added later included: what a product
	// whose changes are not known (inserted, reactivated, logged by an
	// older worker) is taken to have changed, and what an enricher that
	// declares nothing reads.
	All Set = 1<<32 - 1
)

// columns maps each bit to its products column.
var columns = [...]struct {
	bit    Set
	column string
}{
	{Name, "name"}, {Description, "description"}, {Brand, "brand"}, {GTIN, "gtin"},
	{Price, "price"}, {Currency, "currency"}, {Stock, "stock"}, {Availability, "availability"},
	{CategoryPath, "category_path"}, {ProductURL, "product_url"}, {ImageURLs, "image_urls"},
	{Attributes, "attributes"},
}

// Names returns the columns' names, in bit order.
func Names() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.column
	}
	return out
}

// Has reports whether s and t share a column.
func (s Set) Has(t Set) bool { return s&t != 0 }

// String lists the set's columns, "all" for All and "none" for none.
func (s Set) String() string {
	switch s {
	case All:
		return "all"
	case 0:
		return "none"
	}
	var names []string
	for _, c := range columns {
		if s&c.bit != 0 {
			names = append(names, c.column)
			s &^= c.bit
		}
	}
	if s != 0 {
		names = append(names, fmt.Sprintf("bits %#x", uint32(s)))
	}
	return strings.Join(names, ",")
}

// ChangedSQL is an SQL integer expression: the bits of the columns whose
// values differ between the rows old and new (aliases, such as p and
// excluded in an ON CONFLICT DO UPDATE). NULLs compare as values.
func ChangedSQL(old, new string) string {
	terms := make([]string, len(columns))
	for i, c := range columns {
		terms[i] = fmt.Sprintf("CASE WHEN %[1]s.%[3]s IS DISTINCT FROM %[2]s.%[3]s THEN %[4]d ELSE 0 END", old, new, c.column, uint32(c.bit))
	}
	return "(" + strings.Join(terms, " | ") + ")"
}

// FromStored is the set a stored value means: NULL is All.
func FromStored(v *int32) Set {
	if v == nil {
		return All
	}
	return Set(uint32(*v))
}
