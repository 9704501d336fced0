package feed

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// xmlReader streams the elements named record, at any depth or at path,
// with encoding/xml's tokenizer reading through xmlInput: only the record
// being read is in memory, up to Options.MaxRecordBytes and Options.MaxDepth,
// and a record that breaks a bound is read past token by token, keeping
// nothing. YML is the same walk with a few extra rules (see yml.go).
type xmlReader struct {
	op        string // "xml" or "yml", for messages
	in        *xmlInput
	dec       *xml.Decoder
	maxRecord int64
	maxField  int
	badAt     int64 // input offset of the first invalid UTF-8 in the record
	record    string
	path      []string // local names from the root to record; nil: any depth
	outer     []string // local names of the open elements outside records
	maxDepth  int
	row       int64
	err       error // final error, returned by every later Next
	sawRoot   bool
	// decoded is set when Options.Encoding already decoded the input, so
	// the encoding in the XML declaration must not be applied again.
	decoded    bool
	charsetErr error
	names      nameCache
	stack      []xmlFrame
	own        []byte // the record element's own text
	raw        rawBuf
	last       int // field count of the previous record, to size the next
	yml        *ymlState
	opts       Options
	// split cuts records out for Finish; shift is how much shorter than
	// the feed the skeleton read so far is.
	split *xmlSplit
	// rawContext is the digest of what Finish reads besides a record's
	// text and category tree (RawKey).
	rawContext uint64
	cut        []RawRecord // records of the element of split read last, not yet returned
	cutBuf     []RawRecord // cut's array, emptied, for the next element's
	shift      int64
	// lines is added to the line numbers of encoding/xml (finishSlow's
	// reader starts at a record's line).
	lines int
	fin   Finisher // Next's
}

// xmlFrame is an open element inside a record.
type xmlFrame struct {
	name string // the field name: the path below the record
	tag  string // the element's name as written (xmlFast's)
	text []byte
	// src is the text when it is verbatim, one run of the record's
	// characters with no reference or CR in it (xmlFast's): then text is
	// empty, and no copy is made.
	src      string
	verbatim bool
	// opaque counts open elements when the frame keeps its whole content as
	// one value (a YML description holding unescaped HTML).
	opaque int
	// param, paramName and unit describe a YML <param>.
	param           bool
	paramName, unit string
}

func newXMLReader(r io.Reader, opts Options, decoded bool, record string, path []string, yml *ymlState) *xmlReader {
	x := &xmlReader{op: "xml", record: record, path: path, decoded: decoded, yml: yml, maxDepth: opts.depthLimit(), opts: opts}
	if yml != nil {
		x.op = "yml"
	}
	x.maxRecord, x.maxField = opts.recordLimit(), opts.fieldLimit()
	x.in = newXMLInput(r, int64(opts.fieldLimit()), x.maxRecord)
	x.in.decoded = decoded
	x.dec = xml.NewDecoder(x.in)
	// Feeds written by hand-rolled exporters use HTML entities (&nbsp;).
	x.dec.Entity = xml.HTMLEntity
	x.dec.CharsetReader = x.charsetReader
	return x
}

// charsetReader decodes the encoding named in the XML declaration
// (windows-1251 is common in YML feeds).
func (x *xmlReader) charsetReader(label string, in io.Reader) (io.Reader, error) {
	if x.decoded || x.in.declared {
		return in, nil // decoded before the UTF-8 check, see xmlInput
	}
	enc, err := htmlindex.Get(label)
	if err != nil {
		x.charsetErr = fmt.Errorf("unsupported encoding %q in the XML declaration", label)
		return nil, x.charsetErr
	}
	if enc == unicode.UTF8 {
		// Another name of UTF-8 ("UTF8"): nothing to decode, and xmlInput
		// checks the UTF-8. A decoder would read the skeleton ahead of
		// encoding/xml, past the records xmlSplit cut out.
		return in, nil
	}
	return decoded(enc, in), nil
}

// next reads the next record element with encoding/xml (finishSlow's).
func (x *xmlReader) next() (Record, error) {
	raw, err := x.nextRaw()
	if err != nil {
		return Record{}, err
	}
	return *raw.done, nil
}

// nextRaw reads to the next record element: one xmlSplit cut out, left
// for Finish, or one it reads itself (done).
func (x *xmlReader) nextRaw() (RawRecord, error) {
	if x.err != nil {
		return RawRecord{}, x.err // records cut out after a final error are not read
	}
	if len(x.cut) > 0 {
		return x.nextCut(), nil
	}
	for x.err == nil {
		// What xmlInput found outside records is of no concern: the text
		// there is not read.
		x.in.takeOver()
		x.in.takeBad()
		tok, err := x.dec.Token()
		if err != nil {
			x.err = x.fail(afterRecord(x.row), err)
			if x.split != nil && len(x.split.queue) > 0 && errors.Is(x.err, io.EOF) {
				x.err = malformed(x.op, afterRecord(x.row), errSplit.Error())
			}
			break
		}
		if _, ok := tok.(xml.EndElement); ok && len(x.outer) > 0 {
			x.outer = x.outer[:len(x.outer)-1]
			continue
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		x.sawRoot = true
		switch {
		case x.isRecord(start):
			if x.split != nil {
				if cut, ok := x.split.take(x.in.off); ok {
					return x.cutRecord(cut)
				}
				if x.split.missed(x.in.off) {
					x.err = malformed(x.op, afterRecord(x.row), errSplit.Error())
					break
				}
			}
			rec, err := x.readRecord(start)
			if _, ok := err.(*RecordError); ok {
				return RawRecord{}, err // one record rejected; reading goes on
			}
			if err != nil {
				x.err = err
				break
			}
			return RawRecord{Row: rec.Row, done: &rec}, nil
		case x.split != nil && x.split.missed(x.in.off):
			x.err = malformed(x.op, afterRecord(x.row), errSplit.Error())
		case x.yml != nil && start.Name.Local == "category":
			if err := x.readCategory(start); err != nil {
				x.err = err
			}
		default:
			if len(x.outer) >= x.maxDepth {
				x.err = malformed(x.op, afterRecord(x.row), fmt.Sprintf("elements outside records nested deeper than %d (Options.MaxDepth)", x.maxDepth))
				break
			}
			x.outer = append(x.outer, start.Name.Local)
		}
	}
	return RawRecord{}, x.err
}

// cutRecord returns the first of the records xmlSplit cut out where the
// element just read stands, reading past the element's end, and keeps the
// others for the next calls.
func (x *xmlReader) cutRecord(cut splitRecord) (RawRecord, error) {
	tok, err := x.dec.Token()
	if _, ok := tok.(xml.EndElement); !ok || err != nil {
		x.err = malformed(x.op, recordAt(x.row+1), errSplit.Error())
		return RawRecord{}, x.err
	}
	line, _ := x.dec.InputPos()
	first := line - cut.nl
	x.shift += cut.span - int64(cut.size)
	var cats *ymlTree
	if x.yml != nil {
		cats = x.yml.frozen()
	}
	// The array of the last element's records, which nextCut emptied: a
	// new one for each element cost more than an allocation a record.
	x.cut = x.cutBuf[:0]
	for _, rec := range cut.recs {
		x.row++
		x.cut = append(x.cut, RawRecord{Row: x.row, text: rec.text, off: rec.off, line: first + rec.nl, cats: cats})
	}
	if cap(x.cut) <= maxCutBuf {
		x.cutBuf = x.cut[:0]
	}
	x.split.recycle(cut.recs)
	return x.nextCut(), nil
}

// nextCut returns the next record of x.cut.
func (x *xmlReader) nextCut() RawRecord {
	raw := x.cut[0]
	x.cut[0] = RawRecord{}
	x.cut = x.cut[1:]
	if len(x.cut) == 0 {
		x.cut = x.cut[:0:0]
	}
	return raw
}

// isRecord reports whether start, outside records, opens a record: it has
// the record name and, with Options.RecordPath, sits at that path.
func (x *xmlReader) isRecord(start xml.StartElement) bool {
	if start.Name.Local != x.record {
		return false
	}
	if x.path == nil {
		return true
	}
	return slices.Equal(x.outer, x.path[:len(x.path)-1])
}

// fail classifies an error of the tokenizer.
func (x *xmlReader) fail(where string, err error) error {
	var syn *xml.SyntaxError
	switch {
	case errors.Is(err, io.EOF) && x.sawRoot:
		return io.EOF
	case errors.Is(err, io.EOF):
		return malformed(x.op, "start", "no root element (empty document?)")
	case errors.Is(err, errMarkupTooLong):
		return malformed(x.op, where, fmt.Sprintf("a tag or declaration exceeds %d bytes (Options.MaxRecordBytes)", x.maxRecord))
	case x.charsetErr != nil:
		return malformed(x.op, "start", x.charsetErr.Error())
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("feed: %s: %s: %w", x.op, where, err)
	case errors.As(err, &syn) && syn.Msg == "unexpected EOF" && errors.Is(x.in.rerr, io.EOF):
		return truncated(x.op, where, fmt.Sprintf("line %d: the document ends before its root element is closed (truncated file?)", syn.Line+x.lines))
	case errors.As(err, &syn):
		return malformed(x.op, where, fmt.Sprintf("line %d: %s", syn.Line+x.lines, syn.Msg))
	default:
		return fmt.Errorf("feed: %s: %s: %w", x.op, where, err)
	}
}

// push opens a frame.
func (x *xmlReader) push(name string) *xmlFrame {
	x.stack = pushFrame(x.stack, name)
	return &x.stack[len(x.stack)-1]
}

// pushFrame opens a frame on stack, reusing the text buffers of earlier
// records.
func pushFrame(stack []xmlFrame, name string) []xmlFrame {
	if len(stack) < cap(stack) {
		stack = stack[:len(stack)+1]
	} else {
		stack = append(stack, xmlFrame{})
	}
	f := &stack[len(stack)-1]
	*f = xmlFrame{name: name, text: f.text[:0]}
	return stack
}

// readRecord reads the record element opened by start up to its end. A
// record that breaks a bound is read to its end all the same, keeping
// nothing more of it, and rejected with a *RecordError.
func (x *xmlReader) readRecord(start xml.StartElement) (Record, error) {
	x.row++
	from := x.in.off
	var reject error // why the record is rejected, the first reason found
	var bad int64    // invalid UTF-8 sequences in the record
	fields := make([]Field, 0, max(x.last, 8))
	fields = x.attrs(fields, "", start.Attr)
	x.stack = x.stack[:0]
	x.own = x.own[:0]
	x.check(nil, &reject, &bad) // the record's start tag
	for {
		tok, err := x.dec.Token()
		if err != nil {
			return Record{}, x.fail(recordAt(x.row), err)
		}
		x.check(tok, &reject, &bad)
		if size := x.in.off - from; size > x.maxRecord {
			// Open after tok: the frames, the record's own element, and
			// tok itself, which no frame counts yet.
			open := len(x.stack) + 1
			if n := len(x.stack); n > 0 && x.stack[n-1].opaque > 1 {
				open += x.stack[n-1].opaque - 1
			}
			switch tok.(type) {
			case xml.StartElement:
				open++
			case xml.EndElement:
				open--
			}
			if err := x.skip(tok, open); err != nil {
				return Record{}, err
			}
			if reject == nil {
				reject = recordTooLarge(x.op, x.in.off-from, x.maxRecord)
			}
			return Record{}, x.reject(fields, reject)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth := len(x.stack)
			if depth > 0 && x.stack[depth-1].opaque > 0 {
				depth += x.stack[depth-1].opaque - 1
			}
			if depth >= x.maxDepth {
				if err := x.skip(tok, depth+2); err != nil {
					return Record{}, err
				}
				if reject == nil {
					reject = tooDeep(x.op, "elements", x.maxDepth)
				}
				return Record{}, x.reject(fields, reject)
			}
			if n := len(x.stack); n > 0 && x.stack[n-1].opaque > 0 {
				top := &x.stack[n-1]
				top.opaque++
				top.text = appendTag(top.text, t)
				continue
			}
			name := t.Name.Local
			if n := len(x.stack); n > 0 {
				name = x.names.join(x.stack[n-1].name, ".", name)
			}
			f := x.push(name)
			if x.yml != nil && len(x.stack) == 1 && x.yml.child(f, t) {
				continue
			}
			fields = x.attrs(fields, name, t.Attr)
		case xml.CharData:
			if n := len(x.stack); n > 0 {
				x.stack[n-1].text = append(x.stack[n-1].text, t...)
			} else {
				x.own = append(x.own, t...)
			}
		case xml.EndElement:
			n := len(x.stack)
			if n == 0 {
				rec := x.finish(fields)
				switch {
				case reject != nil:
					return Record{}, &RecordError{Row: x.row, Raw: rec.Raw, Err: reject}
				case bad > 0:
					return Record{}, &RecordError{Row: x.row, Raw: rec.Raw, Err: x.badUTF8(rec.Fields)}
				}
				return rec, nil
			}
			top := &x.stack[n-1]
			if top.opaque > 1 {
				top.opaque--
				top.text = append(append(append(top.text, "</"...), t.Name.Local...), '>')
				continue
			}
			fields = x.closeFrame(fields, top)
			x.stack = x.stack[:n-1]
		}
	}
}

// closeFrame adds the field of an element that just ended.
func (x *xmlReader) closeFrame(fields []Field, f *xmlFrame) []Field {
	text := bytes.TrimSpace(f.text)
	if len(text) == 0 {
		return fields
	}
	v := clean(string(text), false)
	if f.param {
		return x.yml.param(fields, &x.names, f, v)
	}
	return append(fields, Field{Name: f.name, Value: v})
}

// finish completes a record at the end of its element.
func (x *xmlReader) finish(fields []Field) Record {
	if text := bytes.TrimSpace(x.own); len(text) > 0 {
		// Text directly inside the record element, e.g. <item id="1">Name</item>.
		fields = append(fields, Field{Name: "#text", Value: clean(string(text), false)})
	}
	if x.yml != nil {
		fields = categoryPath(fields, x.yml.cats, &x.yml.paths)
	}
	x.last = len(fields)
	return Record{Row: x.row, Fields: fields, Raw: x.excerpt(fields)}
}

// attrs adds the attributes of element name (empty for the record itself)
// as "name@attr". Namespace declarations are not data and are skipped.
func (x *xmlReader) attrs(fields []Field, name string, attrs []xml.Attr) []Field {
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if v := clean(a.Value, true); v != "" {
			fields = append(fields, Field{Name: x.names.join(name, "@", a.Name.Local), Value: v})
		}
	}
	return fields
}

// excerpt rebuilds a compact form of a record, <offer id="1"><name>…,
// from its fields: the decoder does not keep the source text.
func (x *xmlReader) excerpt(fields []Field) string {
	raw := &x.raw
	raw.reset()
	raw.add("<")
	raw.add(x.record)
	i := 0
	for ; i < len(fields) && len(fields[i].Name) > 0 && fields[i].Name[0] == '@'; i++ {
		raw.add(" ")
		raw.add(fields[i].Name[1:])
		raw.add(`="`)
		raw.add(fields[i].Value)
		raw.add(`"`)
	}
	raw.add(">")
	for ; i < len(fields) && !raw.full(); i++ {
		raw.add("<")
		raw.add(fields[i].Name)
		raw.add(">")
		raw.add(fields[i].Value)
		raw.add("</")
		raw.add(fields[i].Name)
		raw.add(">")
	}
	return raw.String()
}

// appendTag appends a start tag to b, for elements kept as markup.
func appendTag(b []byte, t xml.StartElement) []byte {
	b = append(append(b, '<'), t.Name.Local...)
	for _, a := range t.Attr {
		b = append(append(append(append(append(b, ' '), a.Name.Local...), `="`...), a.Value...), '"')
	}
	return append(b, '>')
}

// Close marks the reader closed; it holds no resources.
func (x *xmlReader) Close() error {
	x.err = errClosed
	return nil
}
