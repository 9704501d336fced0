package feed

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// jsonReader streams the elements of one JSON array, found at the top level
// or under Options.RecordPath. It walks the document itself, byte by byte
// between records and with jsonSkim inside them, because encoding/json's
// Decoder keeps a whole value in memory before it looks at it: an element
// is kept up to Options.MaxRecordBytes and skimmed past beyond, and only
// what is kept is validated by encoding/json and flattened.
type jsonReader struct {
	br        *bufio.Reader
	off       int64 // bytes consumed, for messages
	texts     textSlab
	path      []string // property names leading to the array
	open      int      // objects entered on the way to the array
	started   bool
	more      bool // an element was read: a comma must come before the next
	row       int64
	err       error  // final error, returned by every later Next
	elem      []byte // the element being read, up to maxRecord bytes
	over      bool   // the element was longer than maxRecord
	text      string // the element read, unless over
	maxRecord int64
	skim      jsonSkim
	flat      flattener // NextRaw's, for the excerpts of elements over a bound
	opts      Options
	fin       Finisher // Next's
	// rawContext digests what Finish reads besides an element (RawKey).
	rawContext uint64
}

func newJSONReader(r io.Reader, opts Options) *jsonReader {
	var path []string
	if p := strings.TrimSpace(opts.RecordPath); p != "" {
		path = strings.Split(p, ".")
	}
	return &jsonReader{br: bufio.NewReaderSize(r, 64<<10), path: path, maxRecord: opts.recordLimit(),
		flat: newFlattener("json", opts), opts: opts, rawContext: jsonRawContext("json", opts)}
}

// Next returns the next element. An element that is not an object, or that
// breaks a bound, is a *RecordError; broken JSON is ErrMalformed and JSON
// that ends before its array is closed ErrTruncated.
func (j *jsonReader) Next() (Record, error) {
	raw, err := j.NextRaw()
	if err != nil {
		return Record{}, err
	}
	rec, err := j.Finish(raw, &j.fin)
	if _, bad := errors.AsType[*RecordError](err); err != nil && !bad {
		j.err = err
	}
	rec.Fields = slices.Clone(rec.Fields) // Next's records are the caller's
	return rec, err
}

// NextRaw walks to the end of the next element and returns its text,
// unparsed; see Splitter. An element over a bound is its *RecordError
// here. JSON broken in a way the walk does not see (a bad number, say) is
// Finish's final error, as it is Next's.
func (j *jsonReader) NextRaw() (RawRecord, error) {
	if j.err != nil {
		return RawRecord{}, j.err
	}
	if !j.started {
		j.started = true
		if err := j.start(); err != nil {
			j.err = err
			return RawRecord{}, err
		}
	}
	c, err := j.peek()
	if err != nil {
		j.err = j.fail(afterRecord(j.row), err)
		return RawRecord{}, j.err
	}
	if c == ']' {
		j.skip1()
		j.err = j.finish()
		return RawRecord{}, j.err
	}
	if j.more {
		if c != ',' {
			j.err = j.syntax(afterRecord(j.row), c, "',' or ']'")
			return RawRecord{}, j.err
		}
		j.skip1()
		if c, err = j.peek(); err != nil {
			j.err = j.fail(afterRecord(j.row), err)
			return RawRecord{}, j.err
		}
		if c == ']' {
			j.err = j.syntax(afterRecord(j.row), c, "a value after ','")
			return RawRecord{}, j.err
		}
	}
	j.more = true
	j.row++
	from := j.off
	if err := j.value(true); err != nil {
		j.err = j.fail(recordAt(j.row), err)
		return RawRecord{}, j.err
	}
	var why error
	switch {
	case j.over && j.skim.longest > int64(j.flat.maxField):
		why = fieldTooLarge("json", j.skim.field(), j.skim.longest, j.flat.maxField)
	case j.skim.deepest-1 > j.flat.maxDepth:
		why = tooDeep("json", "objects or arrays", j.flat.maxDepth)
	case j.over:
		why = recordTooLarge("json", j.skim.total, j.maxRecord)
	}
	if why != nil {
		text := j.text
		if j.over {
			text = string(j.elem[:min(len(j.elem), 2*maxRaw)])
		}
		return RawRecord{}, &RecordError{Row: j.row, Raw: j.flat.compact(text[:min(len(text), 2*maxRaw)]), Err: why}
	}
	return RawRecord{Row: j.row, text: j.text, off: from}, nil
}

// Finish flattens an element of NextRaw; see Splitter. Its Fields live in
// f. The flattener holds JSON's
// grammar (FuzzFlattenStrict), so encoding/json looks only at elements it
// refuses: to tell a bound or UTF-8 error in valid JSON from broken JSON
// (final, as the document is), and to say why.
func (j *jsonReader) Finish(raw RawRecord, f *Finisher) (Record, error) {
	flat := f.flattener("json", j.opts)
	s := raw.text
	if c := firstByte(s); c == '{' {
		fields, err := flat.flatten(s)
		if err == nil {
			return Record{Row: raw.Row, Fields: fields, Raw: flat.flatRaw(s)}, nil
		}
		if validJSON(s) {
			return Record{}, &RecordError{Row: raw.Row, Raw: flat.compact(s), Err: err}
		}
	} else if validJSON(s) {
		return Record{}, &RecordError{Row: raw.Row, Raw: flat.compact(s), Err: fmt.Errorf("json: element is %s, want an object", jsonKind(c))}
	}
	// Unmarshal only to learn why; it validates before it copies.
	err := json.Unmarshal([]byte(s), new(json.RawMessage))
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return Record{}, malformed("json", recordAt(raw.Row), fmt.Sprintf("offset %d: %v", raw.off+syn.Offset, err))
	}
	return Record{}, malformed("json", recordAt(raw.Row), err.Error())
}

// peek skips white space and returns the next byte, unread.
func (j *jsonReader) peek() (byte, error) {
	for {
		b, err := j.br.Peek(1)
		if len(b) == 0 {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			j.skip1()
		default:
			return b[0], nil
		}
	}
}

// skip1 consumes the byte peek returned.
func (j *jsonReader) skip1() {
	_, _ = j.br.Discard(1)
	j.off++
}

// value reads the value that starts at the next byte, keeping it in j.text
// when keep is set, or, over maxRecord bytes, setting j.over and keeping
// the start in j.elem. An end
// of input inside the value is io.ErrUnexpectedEOF.
func (j *jsonReader) value(keep bool) error {
	j.skim.reset()
	j.elem, j.over, j.text = j.elem[:0], false, ""
	for first := true; ; first = false {
		if _, err := j.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		buf, _ := j.br.Peek(j.br.Buffered())
		if keep && first {
			// The common case: an object all in the buffer, under the
			// bound. It is found by a leaner walk and copied once.
			if n, deepest, ok := objectEnd(buf); ok && int64(n) <= j.maxRecord {
				j.text = j.texts.text(buf[:n])
				j.skim.deepest, j.skim.total = deepest, int64(n)
				_, _ = j.br.Discard(n)
				j.off += int64(n)
				return nil
			}
		}
		n, done := j.skim.feed(buf)
		if keep && !j.over {
			if int64(len(j.elem)+n) <= j.maxRecord {
				j.elem = append(j.elem, buf[:n]...)
			} else {
				j.over = true // j.elem keeps the start, for Raw
			}
		}
		_, _ = j.br.Discard(n)
		j.off += int64(n)
		if done {
			if keep && !j.over {
				j.text = j.texts.text(j.elem)
			}
			return nil
		}
	}
}

// key reads an object key and the colon after it.
func (j *jsonReader) key(where string) (string, error) {
	c, err := j.peek()
	if err != nil {
		return "", j.fail(where, err)
	}
	if c != '"' {
		return "", j.syntax(where, c, "a key")
	}
	if err := j.value(true); err != nil {
		return "", j.fail(where, err)
	}
	if j.over {
		return "", malformed("json", where, fmt.Sprintf("a key exceeds %d bytes (Options.MaxRecordBytes)", j.maxRecord))
	}
	var key string
	if err := json.Unmarshal([]byte(j.text), &key); err != nil {
		return "", malformed("json", where, fmt.Sprintf("offset %d: %v", j.off, err))
	}
	if c, err = j.peek(); err != nil {
		return "", j.fail(where, err)
	}
	if c != ':' {
		return "", j.syntax(where, c, "':'")
	}
	j.skip1()
	return key, nil
}

// start reads up to the opening bracket of the record array.
func (j *jsonReader) start() error {
	c, err := j.peek()
	if errors.Is(err, io.EOF) {
		return malformed("json", "start", "empty document")
	}
	if err != nil {
		return j.fail("start", err)
	}
	for i, name := range j.path {
		where := "the top-level value"
		if i > 0 {
			where = fmt.Sprintf("property %q", strings.Join(j.path[:i], "."))
		}
		if c != '{' {
			return malformed("json", "start", fmt.Sprintf("%s is %s, want an object holding %q", where, jsonKind(c), name))
		}
		j.skip1()
		j.open++
		found, err := j.find(name)
		if err != nil {
			return err
		}
		if !found {
			return malformed("json", "start", fmt.Sprintf("%s has no property %q (check Options.RecordPath)", where, name))
		}
		if c, err = j.peek(); err != nil {
			return j.fail("start", err)
		}
	}
	if c != '[' {
		if len(j.path) == 0 {
			hint := ""
			if c == '{' {
				hint = " (set Options.RecordPath to the property holding the array?)"
			}
			return malformed("json", "start", fmt.Sprintf("the top-level value is %s, want an array of records%s", jsonKind(c), hint))
		}
		return malformed("json", "start", fmt.Sprintf("property %q is %s, want an array of records", strings.Join(j.path, "."), jsonKind(c)))
	}
	j.skip1()
	return nil
}

// find reads the properties of the object just opened up to the value of
// the one called name, skipping the others, and reports whether it is
// there.
func (j *jsonReader) find(name string) (bool, error) {
	for first := true; ; first = false {
		c, err := j.peek()
		if err != nil {
			return false, j.fail("start", err)
		}
		switch {
		case c == '}':
			return false, nil
		case !first && c == ',':
			j.skip1()
		case !first:
			return false, j.syntax("start", c, "',' or '}'")
		}
		key, err := j.key("start")
		if err != nil {
			return false, err
		}
		if key == name {
			return true, nil
		}
		if err := j.value(false); err != nil {
			return false, j.fail("start", err)
		}
	}
}

// finish checks that the document ends properly after the array and
// returns io.EOF if it does: a feed cut right after a record, or after the
// array, must not pass for a complete one.
func (j *jsonReader) finish() error {
	where := afterRecord(j.row)
	for ; j.open > 0; j.open-- {
		for {
			c, err := j.peek()
			if err != nil {
				return j.fail(where, err)
			}
			if c == '}' {
				j.skip1()
				break
			}
			if c != ',' {
				return j.syntax(where, c, "',' or '}'")
			}
			j.skip1()
			if _, err := j.key(where); err != nil {
				return err
			}
			if err := j.value(false); err != nil {
				return j.fail(where, err)
			}
		}
	}
	switch _, err := j.peek(); {
	case errors.Is(err, io.EOF):
		return io.EOF
	case err != nil:
		return j.fail(where, err)
	default:
		return malformed("json", where, fmt.Sprintf("offset %d: data after the end of the document", j.off))
	}
}

// syntax reports the byte c where want was expected.
func (j *jsonReader) syntax(where string, c byte, want string) error {
	return malformed("json", where, fmt.Sprintf("offset %d: invalid character %q, want %s", j.off, c, want))
}

// fail classifies an error of reading. An end of input here means the
// input ended where the syntax needs more: a truncation.
func (j *jsonReader) fail(where string, err error) error {
	switch {
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("feed: json: %s: %w", where, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return truncated("json", where, "the document ends before its array is closed (truncated file?)")
	default:
		return fmt.Errorf("feed: json: %s: %w", where, err)
	}
}

// Close marks the reader closed; it holds no resources.
func (j *jsonReader) Close() error {
	j.err = errClosed
	return nil
}

func firstByte(s string) byte {
	s = strings.TrimLeft(s, " \t\r\n")
	if s == "" {
		return 0
	}
	return s[0]
}

var _ Splitter = (*jsonReader)(nil)
