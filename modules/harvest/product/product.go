// Package product turns one generic feed record into a canonical, validated
// Product, or into a precise Reject that names the offending field and says
// why it was refused.
//
// Everything here is a pure function of its input: the package must never do
// I/O, touch a database, read the clock or the environment, or keep mutable
// global state. It runs once per record of every harvest (millions of times),
// so the hot path avoids allocations where it reasonably can, and no input,
// however malformed, may make it panic.
package product

import (
	"iter"
	"strconv"
)

// Length limits, counted in characters (Unicode code points) after cleaning.
// A SKU longer than MaxSKULen is rejected, because truncating a key could
// merge two products; longer names and descriptions are truncated, because
// they are display text and the rest of the record is still good.
const (
	MaxSKULen         = 128
	MaxNameLen        = 512
	MaxBrandLen       = 256
	MaxDescriptionLen = 20000
	MaxAttributeLen   = 1024
	// MaxURLLen bounds url and every image URL, in bytes; longer ones are rejected.
	MaxURLLen = 2048
)

// Source is one feed record: feed field name -> values, in document order.
// *feed.Record satisfies it. Normalize only reads from it.
type Source interface {
	Get(name string) string   // first value, "" if absent
	All(name string) []string // all values
}

// Positioned is optionally implemented by a Source whose fields keep their
// order from one record to the next, as a CSV file's columns do. GetAt
// returns what Get(name) does, looking first at position *at (where the
// field was in the record before) and setting *at to where it found it in
// this one: one comparison where Get searches, but for records whose
// empty values moved the others. NormalizeReusing keeps the positions.
type Positioned interface {
	GetAt(name string, at *int) string
}

// Appender is optionally implemented by a Source that can append the
// values of a field to a slice: AppendAll(dst, name) is
// append(dst, All(name)...), without All's new slice.
type Appender interface {
	AppendAll(dst []string, name string) []string
}

// Enumerator is optionally implemented by a Source that can walk all its
// fields. Pairs yields every (name, value) pair in document order, a name
// once per value. Normalize needs it only to discover the "param:<Name>"
// fields of YML offers, whose names are not known in advance; a Source
// without it yields no YML params. One pass over the pairs keeps the cost
// linear in the record's size, where looking up each discovered name again
// would be quadratic.
type Enumerator interface {
	Pairs() iter.Seq2[string, string]
}

// Indexed is optionally implemented by an Enumerator that holds its pairs
// in an array: PairAt(i) for i below NumPairs() gives what Pairs yields,
// in the same order, without an iterator's closures, which cost a YML
// offer two allocations.
type Indexed interface {
	NumPairs() int
	PairAt(i int) (name, value string)
}

// Product is the canonical product row (table products, keyed by
// tenant_id+supplier_code+sku; tenant and supplier are not part of it).
// Normalize only returns Products whose fields satisfy the documented
// invariants. Every string is valid UTF-8; text is in Unicode NFC, while
// URLs are kept byte for byte, since rewriting one may change what it
// points to.
type Product struct {
	SKU          string       // required, ≤ MaxSKULen characters, no control characters
	Name         string       // required, whitespace collapsed, ≤ MaxNameLen characters
	Description  string       // plain text (HTML stripped), ≤ MaxDescriptionLen characters
	Brand        string       // whitespace collapsed, ≤ MaxBrandLen characters
	GTIN         string       // "" or 8, 12, 13 or 14 digits with a valid GS1 check digit, as given
	Price        Decimal      // exact, non-negative
	Currency     string       // active ISO 4217 alpha code, upper-case
	Stock        *int64       // nil = unknown; never negative
	Availability Availability // never ""
	CategoryPath []string     // e.g. ["Electronics", "Phones"]; nil when unknown
	URL          string       // "" or absolute http(s)
	Images       []string     // absolute http(s), de-duplicated, order kept; nil when none
	Attributes   Attributes   // sorted by their lower-case keys; nil when none
}

// Availability is whether a product can be ordered now.
type Availability string

// The availability states of a Product.
const (
	InStock    Availability = "in_stock"
	OutOfStock Availability = "out_of_stock"
	Preorder   Availability = "preorder"
	Unknown    Availability = "unknown"
)

// Reject says why a record was refused: Field is the canonical field name
// ("price", "images[2]", "attributes.color"), Reason a short lower-case
// explanation that quotes the offending value.
type Reject struct {
	Field  string
	Reason string
}

// Error returns "<field>: <reason>", e.g. `gtin: check digit is 3, want 7`.
func (r *Reject) Error() string { return r.Field + ": " + r.Reason }

func reject(field, reason string) *Reject { return &Reject{Field: field, Reason: reason} }

// maxQuoted bounds how much of an offending value a reason quotes, so that a
// 20 kB description cannot turn into a 20 kB error message.
const maxQuoted = 64

// quote returns s as a Go-quoted string, shortened to maxQuoted characters.
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuoted {
			return strconv.Quote(s[:i] + "…")
		}
		n++
	}
	return strconv.Quote(s)
}
