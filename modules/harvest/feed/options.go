package feed

import (
	"errors"
	"fmt"
	"strings"
)

// Options configures NewReader.
type Options struct {
	// Format is the syntax of the feed; required.
	Format Format
	// Delimiter separates CSV fields; 0 means ','. Typical others are ';',
	// '\t' and '|'.
	Delimiter rune
	// RecordElement is the name of the XML elements that are records, at
	// any depth; XML needs it or RecordPath. Elements match by local name:
	// namespace prefixes are ignored in the feed and in this option.
	RecordElement string
	// RecordPath optionally says where the records are, in dotted form:
	//
	//   - JSON: the property of a top-level object that holds the array of
	//     records, e.g. "products" for {"products":[…]}; dots descend into
	//     nested objects ("data.items").
	//   - XML: the local names of the elements from the root element down
	//     to the record element itself, e.g. "catalog.products.product":
	//     only <product> elements at exactly that place are records, so a
	//     <product> elsewhere (inside <related>, say) is not. Its last name
	//     is the record element; RecordElement may then be empty, and must
	//     match it if set.
	RecordPath string
	// Sheet optionally names the XLSX worksheet; empty means the first.
	Sheet string
	// Encoding optionally names the character encoding of the feed
	// ("windows-1252", "windows-1251", "koi8-r", …; WHATWG labels, so
	// "latin1" and "iso-8859-1" mean windows-1252). Empty means UTF-8, and
	// then a record holding bytes that are not UTF-8 is a *RecordError
	// (ErrInvalidUTF8), never stored with replacement characters. XML and
	// YML feeds may declare their encoding in the XML declaration, which
	// is honoured without this option; setting it overrides the
	// declaration. XLSX ignores it: workbooks are always Unicode.
	Encoding string

	// MaxFieldBytes bounds one field's value in bytes, as it appears in the
	// source (before trimming); 0 means DefaultMaxFieldBytes. A record
	// with a longer field is a *RecordError naming the field.
	MaxFieldBytes int
	// MaxRecordBytes bounds one record's source text in bytes; 0 means
	// DefaultMaxRecordBytes. A longer record is a *RecordError and is
	// skipped without being kept in memory. It also bounds what may stand
	// between records (an XML tag, a JSON key): longer is ErrMalformed.
	MaxRecordBytes int
	// MaxDepth bounds how deeply XML elements or JSON objects and arrays
	// nest inside a record, the record itself not counted; 0 means
	// DefaultMaxDepth. A deeper record is a *RecordError. XML elements
	// outside records (from the root down to a record) are bounded by it
	// too, and deeper is ErrMalformed.
	MaxDepth int
}

// The defaults of the bounds in Options. They fit real catalogues with a
// wide margin: a 64 KiB description is generous, and real records are a few
// KiB. Memory per record, and so per batch of records a caller keeps, is
// bounded by MaxRecordBytes times a small factor.
const (
	DefaultMaxFieldBytes  = 64 << 10
	DefaultMaxRecordBytes = 1 << 20
	DefaultMaxDepth       = 32
)

// maxSkipDepth bounds how deeply the elements of an XML record that is
// being skipped (too deep, too large) may nest: encoding/xml keeps a frame
// per open element, so deeper would cost memory without bound.
const maxSkipDepth = 1 << 16

// fieldLimit returns the effective MaxFieldBytes.
func (o Options) fieldLimit() int {
	if o.MaxFieldBytes > 0 {
		return o.MaxFieldBytes
	}
	return DefaultMaxFieldBytes
}

// recordLimit returns the effective MaxRecordBytes.
func (o Options) recordLimit() int64 {
	if o.MaxRecordBytes > 0 {
		return int64(o.MaxRecordBytes)
	}
	return DefaultMaxRecordBytes
}

// depthLimit returns the effective MaxDepth.
func (o Options) depthLimit() int {
	if o.MaxDepth > 0 {
		return o.MaxDepth
	}
	return DefaultMaxDepth
}

// check returns the first problem of the bounds in o.
func (o Options) check() error {
	switch {
	case o.MaxFieldBytes < 0:
		return fmt.Errorf("feed: new reader: Options.MaxFieldBytes is %d, want 0 (default) or more", o.MaxFieldBytes)
	case o.MaxRecordBytes < 0:
		return fmt.Errorf("feed: new reader: Options.MaxRecordBytes is %d, want 0 (default) or more", o.MaxRecordBytes)
	case o.MaxDepth < 0:
		return fmt.Errorf("feed: new reader: Options.MaxDepth is %d, want 0 (default) or more", o.MaxDepth)
	}
	return nil
}

// xmlRecord returns the local name of the XML record elements and the
// local names of the path to them from the root (nil: at any depth), from
// Options.RecordElement and Options.RecordPath.
func xmlRecord(opts Options) (string, []string, error) {
	// Elements are matched by local name, so "g:item" means "item".
	local := func(s string) string { return s[strings.LastIndexByte(s, ':')+1:] }
	record := local(strings.TrimSpace(opts.RecordElement))
	p := strings.TrimSpace(opts.RecordPath)
	if p == "" {
		if record == "" {
			return "", nil, errors.New("feed: new reader: xml needs Options.RecordElement or Options.RecordPath (the record elements, e.g. \"offer\" or \"catalog.offers.offer\")")
		}
		return record, nil, nil
	}
	path := strings.Split(p, ".")
	for i, name := range path {
		path[i] = local(strings.TrimSpace(name))
		if path[i] == "" {
			return "", nil, fmt.Errorf("feed: new reader: xml Options.RecordPath %q has an empty element name (want dotted names, e.g. \"catalog.offers.offer\")", opts.RecordPath)
		}
	}
	last := path[len(path)-1]
	if record != "" && record != last {
		return "", nil, fmt.Errorf("feed: new reader: xml Options.RecordPath %q ends in %q but Options.RecordElement is %q (set one, or make them agree)", opts.RecordPath, last, opts.RecordElement)
	}
	return last, path, nil
}
