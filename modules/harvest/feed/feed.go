// Package feed streams supplier product feeds (CSV, JSON, JSON Lines, XML,
// Yandex Market Language and XLSX) into generic name/value records, one
// record at a time.
//
// Feeds hold from a hundred thousand to millions of records and may be
// gigabytes long, and some are broken or hostile, so every reader keeps
// memory bounded by the size of one record (plus, for YML, the category
// tree), never by the size of the feed or of what a record claims to hold:
//
//   - a field longer than Options.MaxFieldBytes (default 64 KiB) or a record
//     longer than Options.MaxRecordBytes (default 1 MiB) is a *RecordError
//     wrapping ErrTooLarge, and in XML and JSON a record nested deeper than
//     Options.MaxDepth (default 32) one wrapping ErrTooDeep; the message
//     names the field, its size and the limit. The reader streams past the
//     rest of such a record without keeping it and goes on with the next;
//   - XML nested deeper than Options.MaxDepth outside records, or deeper
//     than 65536 elements inside a record being skipped, is ErrMalformed;
//   - Record.Raw and RecordError.Raw keep at most 256 bytes.
//
// A caller holding n records at once therefore holds about n times
// MaxRecordBytes at most, whatever the feed holds.
//
// Text is never silently altered: with no Options.Encoding (and, for XML,
// no encoding in the XML declaration) a record holding bytes that are not
// UTF-8 is a *RecordError wrapping ErrInvalidUTF8 (`field "name": invalid
// UTF-8 at byte N; set the supplier's encoding`, N counted in the field's
// value); with one, the bytes are decoded.
//
// A feed whose format marks its end (Format.HasEndMarker: JSON, XML, YML,
// XLSX) and that stops before that end fails with ErrTruncated. CSV and
// JSON Lines have no end marker: a feed cut at a record boundary reads as
// complete, and only the caller (a declared Content-Length) can tell.
//
// The package must never do network I/O (callers hand it an io.Reader) and
// must know nothing about products: it does not interpret field names or
// values. Mapping fields onto products is another package's job.
//
// The usual pipeline is Decompress, then Sniff, then NewReader; Open does all
// three.
package feed

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// Format names the syntax of a feed.
type Format string

// The supported feed formats.
const (
	// CSV is delimiter-separated text whose first row is the header.
	CSV Format = "csv"
	// JSON is a top-level array of objects, or an object holding that
	// array under Options.RecordPath.
	JSON Format = "json"
	// JSONL is one JSON object per line; blank lines are skipped.
	JSONL Format = "jsonl"
	// XML holds records as elements named Options.RecordElement, at any
	// depth, or at the place Options.RecordPath names.
	XML Format = "xml"
	// YML is Yandex Market Language: <yml_catalog><shop><categories>…
	// <offers><offer>…; every <offer> is a record.
	YML Format = "yml"
	// XLSX is an Excel workbook; the first row of the sheet is the header.
	XLSX Format = "xlsx"
)

// formats lists the valid formats in the order error messages show them.
var formats = []Format{CSV, JSON, JSONL, XML, YML, XLSX}

// ParseFormat returns the Format named by s, ignoring case, surrounding
// white space and a leading dot (so a file extension works). "ndjson" is
// accepted as JSONL.
func ParseFormat(s string) (Format, error) {
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), ".")
	if name == "ndjson" {
		return JSONL, nil
	}
	for _, f := range formats {
		if string(f) == name {
			return f, nil
		}
	}
	valid := make([]string, len(formats))
	for i, f := range formats {
		valid[i] = string(f)
	}
	return "", fmt.Errorf("feed: parse format: unknown format %q (valid: %s)", s, strings.Join(valid, ", "))
}

// Field is one name/value pair of a record. Value is never empty: empty
// cells, empty elements and JSON nulls produce no Field.
type Field struct{ Name, Value string }

// Record is one record of a feed. A Record owns its memory: callers may keep
// it after the next call to Next.
type Record struct {
	// Row is the 1-based ordinal of the record in the feed: the data row
	// after the header for CSV and XLSX (blank rows are not counted), the
	// array index+1 for JSON, the non-blank line ordinal for JSONL, the
	// record element ordinal for XML and YML.
	Row int64
	// Fields are in document order; a Name repeats for multi-valued data.
	// Names are built as follows: CSV and XLSX use the trimmed header cell;
	// JSON joins nested object keys with "." and repeats a name for every
	// array element; XML uses "@attr" for the record's attributes, the child
	// name for a child's text, "parent.child" for nested children and
	// "child@attr" for a child's attributes; YML adds "param:<name>" and
	// "categoryPath". Values are valid UTF-8. Values are trimmed of
	// surrounding white space except JSON strings, which are kept exactly.
	Fields []Field
	// Raw is a short excerpt of the source for error reports: at most 256
	// bytes of valid UTF-8.
	Raw string
	// distinct: no two Fields share a name, and records of the feed hold
	// them in the same order (a CSV header without repeats), so GetAt may
	// take a name found where it is looked for first.
	distinct bool
}

// Get returns the first value of the field called name, or "".
func (r Record) Get(name string) string {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// GetAt returns what Get(name) does, looking first at Fields[*at] and its
// two neighbours, and sets *at to where it found name (product.Positioned):
// a reader that looks up the same names in record after record of a CSV
// feed finds most with a comparison or two, the neighbours covering a
// field moved by an empty value (which makes no Field) before it, in this
// record or the last. Where names may repeat, it searches as Get does.
func (r *Record) GetAt(name string, at *int) string {
	if r.distinct {
		fields, i := r.Fields, *at
		if uint(i) < uint(len(fields)) && fields[i].Name == name {
			return fields[i].Value
		}
		if i--; uint(i) < uint(len(fields)) && fields[i].Name == name {
			*at = i
			return fields[i].Value
		}
		if i += 2; uint(i) < uint(len(fields)) && fields[i].Name == name {
			*at = i
			return fields[i].Value
		}
	}
	for i, f := range r.Fields {
		if f.Name == name {
			*at = i
			return f.Value
		}
	}
	return ""
}

// AppendAll appends every value of the field called name to dst, in
// document order: All without a new slice (product.Appender).
func (r *Record) AppendAll(dst []string, name string) []string {
	for _, f := range r.Fields {
		if f.Name == name {
			dst = append(dst, f.Value)
		}
	}
	return dst
}

// All returns every value of the field called name, in document order, or
// nil.
func (r Record) All(name string) []string { return r.AppendAll(nil, name) }

// A Splitter is a Reader that can leave the last part of reading each
// record, cleaning its values and building its Fields, to other
// goroutines, so that the one reading the feed does less. NextRaw returns
// the next record, or the error, that Next would, but unfinished; Finish
// finishes it, and may run on any goroutine, at the same time as NextRaw
// and as other Finish calls with other Finishers. Finish returns the
// Record Next would have, or the *RecordError. Next is NextRaw and Finish.
type Splitter interface {
	Reader
	NextRaw() (RawRecord, error)
	// Finish's record's Fields live in f until f's next Finish: a caller
	// that keeps records longer copies them or uses another Finisher.
	Finish(raw RawRecord, f *Finisher) (Record, error)
}

// A RawKeyer is a Splitter that can say everything its Finish reads of a
// raw record: its text, and a digest of the rest (the reader's options,
// the version of the rules Finish follows, a YML feed's category tree).
// Two raw records whose texts and contexts are equal finish to the same
// Fields, in any feed and in any process: a caller may key a record by
// them, keep the key beside what it made of the record, and skip Finish
// for a record whose key it finds again. ok is false for a record whose
// Fields do not come from its text (one read whole).
type RawKeyer interface {
	Splitter
	RawKey(raw RawRecord) (text string, context uint64, ok bool)
}

// A Cutter is a RawKeyer that may leave a record's values to be found
// (CSV's uncut rows): Cut finds them once, in f's memory, so that the
// RawKey and the Finish with f that follow do not each find them again.
// The record is then good for RawKey, and for Finish with f, until f's
// next Cut or Finish of another record.
type Cutter interface {
	RawKeyer
	Cut(raw *RawRecord, f *Finisher)
}

// RawRecord is a record that a Splitter has read but not finished.
type RawRecord struct {
	Row  int64
	line int
	text string
	ends []int
	// uncut: a CSV row of one line without a quote, whose values are its
	// text as is. Its reader leaves finding where they end (ends, nil
	// here) and checking them to Finish and RawKey: the normalising
	// goroutines', not the one reading goroutine's, work. An uncut row
	// with ends has been cut (Cutter) but not checked yet.
	uncut bool
	off   int64 // JSON's and XML's: where the record starts in the document
	// done is a record read whole already (XML's, see xmlSplit).
	done *Record
	cats *ymlTree // YML's: the categories before the offer
}

// Uncut is the record as its reader returned it, before a Cut: one that
// no longer refers to a Finisher's memory.
func (r RawRecord) Uncut() RawRecord {
	if r.uncut {
		r.ends = nil
	}
	return r
}

// Size estimates the memory the raw record holds.
func (r RawRecord) Size() int {
	n := len(r.text) + 8*len(r.ends)
	if r.done != nil {
		for _, f := range r.done.Fields {
			n += len(f.Name) + len(f.Value) + 32
		}
	}
	return n
}

// Finisher is the scratch memory of one goroutine's Finish calls. The zero
// value is ready to use.
type Finisher struct {
	fields []Field
	text   []byte
	ends   []int
	cut    []int      // CSV's: the ends of an uncut row's values
	flat   *flattener // JSON's and JSONL's
	xml    *xmlFast
	// YML's: the category paths of tree, made so far.
	tree  *ymlTree
	paths pathCache
}

// flattener returns f's flattener for the reader of format op, made on
// first use: its caches are the goroutine's. f must not be nil.
func (f *Finisher) flattener(op string, opts Options) *flattener {
	if f == nil {
		panic("feed: Finish with a nil Finisher")
	}
	if f.flat == nil {
		flat := newFlattener(op, opts)
		f.flat = &flat
	}
	return f.flat
}

// Reader yields the records of a feed.
//
// Next returns io.EOF after the last record. A *RecordError rejects one
// record and the caller may call Next again; any other error is final and
// every later call returns it again. Close releases temporary files; it does
// not close the io.Reader the Reader was made from.
type Reader interface {
	Next() (Record, error)
	Close() error
}

// ErrHTML reports that a feed is an HTML page, typically a login or error
// page served instead of the feed.
var ErrHTML = errors.New("feed is an HTML page")

// ErrMalformed reports that a feed's structure is broken: truncated, invalid
// JSON or XML, a bad gzip stream, a CSV file without a header and the like.
// Errors wrapping it say where the problem is.
var ErrMalformed = errors.New("malformed feed")

// ErrTruncated reports that a feed ends before its syntax says it is
// complete: an XML root element never closed, a JSON array without its
// closing bracket, a CSV quoted field open at the end of the file, a gzip
// stream cut short. It is a kind of ErrMalformed: errors.Is(err,
// ErrMalformed) holds for every error for which errors.Is(err,
// ErrTruncated) does. A truncated CSV or JSON Lines feed cut at a record
// boundary cannot be told from a complete one (see Format.HasEndMarker).
var ErrTruncated error = truncatedError{}

// truncatedError is ErrTruncated's type; it matches ErrMalformed too.
type truncatedError struct{}

func (truncatedError) Error() string        { return "truncated feed" }
func (truncatedError) Is(target error) bool { return target == ErrMalformed }

// HasEndMarker reports whether the syntax of format f marks where a feed
// ends: JSON's closing bracket, XML's and YML's closing root tag, XLSX's
// zip directory. A feed in such a format that is cut short fails with
// ErrTruncated wherever it is cut. CSV and JSON Lines have no end marker: a
// feed cut exactly at a record boundary reads as a complete, shorter feed,
// so a caller that cannot check the length (no Content-Length) should treat
// such a feed's missing records with suspicion.
func (f Format) HasEndMarker() bool {
	switch f {
	case JSON, XML, YML, XLSX:
		return true
	}
	return false
}

// RecordError reports one record that cannot be read although the feed
// around it can. The caller rejects the record and calls Next again.
type RecordError struct {
	// Row is the ordinal the record would have had (see Record.Row).
	Row int64
	// Raw is an excerpt of the record's source, as Record.Raw.
	Raw string
	// Err says what is wrong with the record.
	Err error
}

// Error describes the rejected record.
func (e *RecordError) Error() string {
	return fmt.Sprintf("feed: record %d: %v", e.Row, e.Err)
}

// Unwrap returns e.Err.
func (e *RecordError) Unwrap() error { return e.Err }

// errClosed is returned by Next after Close.
var errClosed = errors.New("feed: reader is closed")

// NewReader returns a Reader of the records of r in the format opts.Format.
// r must already be decompressed (see Decompress). Only XLSX reads from r
// before the first call to Next: it spools the workbook to a temporary file,
// because a workbook is a zip archive that cannot be read front to back.
func NewReader(r io.Reader, opts Options) (Reader, error) {
	if r == nil {
		return nil, errors.New("feed: new reader: nil io.Reader")
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	enc, err := lookupEncoding(opts.Encoding)
	if err != nil {
		return nil, err
	}
	switch opts.Format {
	case CSV:
		c, err := newCSVReader(textReader(r, enc), opts)
		if err != nil {
			return nil, err
		}
		return c, nil
	case JSON:
		return newJSONReader(textReader(r, enc), opts), nil
	case JSONL:
		return newJSONLReader(textReader(r, enc), opts), nil
	case XML:
		record, path, err := xmlRecord(opts)
		if err != nil {
			return nil, err
		}
		return newXMLSplitReader(textReader(r, enc), opts, enc != nil, record, path, nil), nil
	case YML:
		return newYMLReader(textReader(r, enc), opts, enc != nil), nil
	case XLSX:
		x, err := newXLSXReader(r, opts)
		if err != nil {
			return nil, err
		}
		return x, nil
	case "":
		return nil, errors.New("feed: new reader: Options.Format is empty")
	default:
		_, err := ParseFormat(string(opts.Format))
		return nil, fmt.Errorf("feed: new reader: %w", err)
	}
}

// Open returns a Reader of a feed exactly as it was downloaded: it
// decompresses gzip, rejects HTML pages with ErrHTML and then calls
// NewReader.
func Open(r io.Reader, opts Options) (Reader, error) {
	r, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	if r, err = Sniff(r); err != nil {
		return nil, err
	}
	return NewReader(r, opts)
}

// lookupEncoding returns the decoder for a WHATWG encoding label, or nil for
// UTF-8, which needs no decoding.
func lookupEncoding(label string) (encoding.Encoding, error) {
	if strings.TrimSpace(label) == "" {
		return nil, nil
	}
	enc, err := htmlindex.Get(strings.TrimSpace(label))
	if err != nil {
		return nil, fmt.Errorf("feed: new reader: unknown encoding %q (use a WHATWG label such as \"windows-1251\")", label)
	}
	if enc == unicode.UTF8 {
		return nil, nil
	}
	return enc, nil
}

// malformed builds a final error wrapping ErrMalformed that names the
// format (op), where in the feed the problem is, and what it is.
func malformed(op, where, detail string) error {
	return fmt.Errorf("feed: %s: %s: %w: %s", op, where, ErrMalformed, detail)
}

// truncated builds a final error wrapping ErrTruncated (and so
// ErrMalformed), like malformed.
func truncated(op, where, detail string) error {
	return fmt.Errorf("feed: %s: %s: %w: %s", op, where, ErrTruncated, detail)
}

// recordAt names the record numbered row in error messages.
func recordAt(row int64) string { return fmt.Sprintf("record %d", row) }

// afterRecord names the place after the record numbered row in error
// messages; before the first record that is the start of the feed.
func afterRecord(row int64) string {
	if row == 0 {
		return "start"
	}
	return fmt.Sprintf("after record %d", row)
}

// Pairs yields the record's fields in document order. It lets a consumer
// discover field names it cannot know in advance (YML "param:<name>").
func (r Record) Pairs() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range r.Fields {
			if !yield(f.Name, f.Value) {
				return
			}
		}
	}
}

// NumPairs is how many fields the record has, PairAt(i) the i-th's name
// and value: Pairs without its closures, which cost allocations.
func (r *Record) NumPairs() int { return len(r.Fields) }

// PairAt returns the name and value of the i-th field (see NumPairs).
func (r *Record) PairAt(i int) (name, value string) {
	f := &r.Fields[i]
	return f.Name, f.Value
}
