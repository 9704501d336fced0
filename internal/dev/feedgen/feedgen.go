// Package feedgen generates synthetic supplier product feeds for demos,
// tests and benchmarks: CSV, JSON Lines, JSON, XML and YML, optionally
// gzipped, with a chosen share of deliberately invalid records.
//
// Output is a pure function of Options: the same options give byte-identical
// feeds on every run and machine. Each record depends only on (Seed, its
// index, Mutate), never on the records before it, so Record can tell a test
// which SKUs must survive normalisation without generating the feed.
//
// Records use the canonical field names of package product's default
// mapping (sku, name, price, …; YML uses its own offer elements), so
// feed.Open plus product.NewNormalizer(product.Options{Format: format})
// read them without any mapping.
//
// The package must never hold the feed in memory: it streams, so a
// million-record feed costs the same memory as a ten-record one. It does no
// I/O of its own beyond writing to the io.Writer it is given.
package feedgen

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Options selects what Write generates.
type Options struct {
	// N is the number of product records, counting those SkipEvery leaves
	// out. Record indexes run from 0 to N-1.
	N int
	// Seed selects the content; the same Seed and options give
	// byte-identical output.
	Seed int64
	// BadShare is the probability, from 0 to 1, that a record is made
	// invalid on purpose (e.g. 0.02). Which records are bad depends only on
	// Seed and the record index; Stats.Bad is the exact count.
	BadShare float64
	// Format is "csv", "jsonl", "json", "xml" (records are <product>
	// elements) or "yml".
	Format string
	// Gzip compresses the output with gzip at its fastest level.
	Gzip bool
	// Mutate, when above 0, changes the price of about that share of
	// records compared with the same options with Mutate 0; nothing else
	// changes but, with MutateName, their names. Mutated tells which
	// records changed.
	Mutate float64
	// MutateName gives the records Mutate changes another name too (the
	// model number in it), so that enrichers reading names see a change.
	MutateName bool
	// SkipEvery, when above 0, leaves out every SkipEvery-th record (the
	// indexes k-1, 2k-1, …), e.g. to test the deactivation of products
	// that disappear from a feed. Skipped tells which.
	SkipEvery int
}

// formats lists the values Options.Format accepts.
var formats = [...]string{"csv", "jsonl", "json", "xml", "yml"}

// Stats describes a feed Write produced.
type Stats struct {
	// Records is the number of records written: N minus skipped ones.
	Records int
	// Valid and Bad split Records by whether product.Normalize accepts them.
	Valid, Bad int
	// BadReasons counts bad records by the canonical field that
	// product.Normalize rejects: "price", "gtin", "name", "currency", "url".
	BadReasons map[string]int
	// Bytes is the size of the output as written to w, after compression.
	Bytes int64
}

// Validate reports every problem with o, joined.
func (o Options) Validate() error {
	var errs []error
	if o.N < 0 {
		errs = append(errs, fmt.Errorf("n is %d, want 0 or more", o.N))
	}
	if !inUnit(o.BadShare) {
		errs = append(errs, fmt.Errorf("bad share is %v, want 0 to 1", o.BadShare))
	}
	if !inUnit(o.Mutate) {
		errs = append(errs, fmt.Errorf("mutate is %v, want 0 to 1", o.Mutate))
	}
	if o.SkipEvery < 0 {
		errs = append(errs, fmt.Errorf("skip every is %d, want 0 (none) or more", o.SkipEvery))
	}
	if !slices.Contains(formats[:], o.Format) {
		errs = append(errs, fmt.Errorf("unknown format %q (valid: %s)", o.Format, strings.Join(formats[:], ", ")))
	}
	return errors.Join(errs...)
}

func inUnit(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }

// Record returns the SKU of record i and whether the record is valid: in
// the feed (not left out by SkipEvery) and accepted by product.Normalize.
// The valid records of a feed are exactly the products a harvest of it must
// store. Record costs a few hash computations; it does not build the record.
func Record(o Options, i int) (sku string, valid bool) {
	return SKU(i), !skipped(o, i) && defectOf(o, i) == noDefect
}

// SKU returns the SKU of record i, "SKU-%08d". SKUs are unique within a
// feed and the same for every seed.
func SKU(i int) string {
	var b [24]byte
	return string(appendPadded(append(b[:0], "SKU-"...), int64(i), 8))
}

// Skipped reports whether o.SkipEvery leaves record i out of the feed.
func Skipped(o Options, i int) bool { return skipped(o, i) }

// Mutated reports whether record i's price differs from its price under
// the same options with Mutate 0. A record whose defect is its price keeps
// that defect, so it is never reported as mutated.
func Mutated(o Options, i int) bool {
	switch defectOf(o, i) {
	case defectPriceText, defectPriceNegative:
		return false
	}
	return mutated(o, i)
}

// bufSize is the buffer in front of the encoder and, with Gzip, behind the
// compressor, which otherwise writes in blocks of a few hundred bytes.
const bufSize = 64 << 10

// Write writes the feed o describes to w and returns its statistics.
func Write(w io.Writer, o Options) (Stats, error) {
	if err := o.Validate(); err != nil {
		return Stats{}, fmt.Errorf("feedgen: write: %w", err)
	}
	out := &countingWriter{w: w}
	var (
		zw  *gzip.Writer
		zbw *bufio.Writer
		dst io.Writer = out
	)
	if o.Gzip {
		zbw = bufio.NewWriterSize(out, bufSize)
		zw, _ = gzip.NewWriterLevel(zbw, gzip.BestSpeed) // the level is valid
		dst = zw
	}
	bw := bufio.NewWriterSize(dst, bufSize)
	enc := newEncoder(o.Format, bw)
	st := Stats{BadReasons: make(map[string]int)}

	fail := func(err error) (Stats, error) {
		st.Bytes = out.n
		return st, fmt.Errorf("feedgen: write %s: %w", o.Format, err)
	}
	if err := enc.begin(); err != nil {
		return fail(err)
	}
	g := newGenerator(o)
	var r record
	for i := range o.N {
		if skipped(o, i) {
			continue
		}
		g.build(i, &r)
		if err := enc.record(&r); err != nil {
			return fail(fmt.Errorf("record %d: %w", i, err))
		}
		st.Records++
		if r.defect == noDefect {
			st.Valid++
		} else {
			st.Bad++
			st.BadReasons[r.defect.field()]++
		}
	}
	if err := enc.end(); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fail(err)
		}
		if err := zbw.Flush(); err != nil {
			return fail(err)
		}
	}
	st.Bytes = out.n
	return st, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// String summarises s on one line, e.g. for a command's stderr:
// "records=980 valid=961 bad=19 bad_price=7 … bytes=312345".
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "records=%d valid=%d bad=%d", s.Records, s.Valid, s.Bad)
	for _, f := range badFields {
		if n := s.BadReasons[f]; n > 0 {
			fmt.Fprintf(&b, " bad_%s=%d", f, n)
		}
	}
	fmt.Fprintf(&b, " bytes=%d", s.Bytes)
	return b.String()
}

// badFields lists the BadReasons keys in a fixed order for String.
var badFields = [...]string{"name", "gtin", "price", "currency", "url"}
