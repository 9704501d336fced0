package feed

import (
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf8"
)

// check notes what xmlInput found in the token tok of a record: invalid
// UTF-8 adds to bad, a field cut short sets reject, unless already set.
func (x *xmlReader) check(tok xml.Token, reject *error, bad *int64) {
	if x.in.bad > 0 {
		n, first := x.in.takeBad()
		if *bad == 0 {
			x.badAt = first + x.shift
		}
		*bad += n
	}
	if x.in.over > 0 {
		if _, size := x.in.takeOver(); *reject == nil {
			*reject = fieldTooLarge(x.op, x.where(tok), size, x.maxField)
		}
	}
}

// where names the field of the record being read that token tok, just
// read, goes into, for messages; nil is the record's start tag.
func (x *xmlReader) where(tok xml.Token) string {
	n := len(x.stack)
	switch t := tok.(type) {
	case nil:
		return fmt.Sprintf("an attribute of <%s>", x.record)
	case xml.StartElement:
		switch {
		case n == 0:
			return fmt.Sprintf("an attribute of field %q", t.Name.Local)
		case x.stack[n-1].opaque > 0:
			return fmt.Sprintf("field %q", x.stack[n-1].name)
		}
		return fmt.Sprintf("an attribute of field %q", x.stack[n-1].name+"."+t.Name.Local)
	case xml.CharData:
		if n == 0 {
			return `field "#text"`
		}
		return fmt.Sprintf("field %q", x.stack[n-1].name)
	}
	return "a comment or processing instruction"
}

// skip reads past the rest of a record that breaks a bound, keeping none of
// it. tok is the last token read and open the number of elements open
// after it, the record's own included.
func (x *xmlReader) skip(tok xml.Token, open int) error {
	for {
		if _, ok := tok.(xml.EndElement); ok && open == 0 {
			return nil
		}
		var err error
		if tok, err = x.dec.Token(); err != nil {
			return x.fail(recordAt(x.row), err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if open++; open > maxSkipDepth {
				return malformed(x.op, recordAt(x.row), fmt.Sprintf("nested deeper than %d elements", maxSkipDepth))
			}
		case xml.EndElement:
			open--
		}
		x.in.takeOver()
		x.in.takeBad()
	}
}

// reject builds the *RecordError of a record that breaks a bound, with an
// excerpt of the fields read before.
func (x *xmlReader) reject(fields []Field, err error) error {
	x.stack = x.stack[:0]
	return &RecordError{Row: x.row, Raw: x.excerpt(fields), Err: err}
}

// badUTF8 explains why a record holding invalid UTF-8 is rejected, naming
// the first field where xmlInput put U+FFFD in its place.
func (x *xmlReader) badUTF8(fields []Field) error {
	for _, f := range fields {
		if i := strings.IndexRune(f.Value, utf8.RuneError); i >= 0 {
			return invalidUTF8(x.op, fmt.Sprintf("field %q", f.Name), i)
		}
	}
	// In a name or a comment: say where in the feed.
	return invalidUTF8(x.op, "an element or attribute name, or a comment (at byte N of the feed)", int(x.badAt))
}
