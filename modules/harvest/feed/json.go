package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonReader streams the elements of one JSON array, found at the top level
// or under Options.RecordPath. Only one element is in memory at a time: the
// array itself is walked with json.Decoder.Token.
type jsonReader struct {
	lim     *limiter
	dec     *json.Decoder
	path    []string // property names leading to the array
	open    int      // objects entered on the way to the array
	started bool
	row     int64
	err     error // final error, returned by every later Next
	raw     json.RawMessage
	flat    flattener
}

func newJSONReader(r io.Reader, opts Options) *jsonReader {
	lim := newLimiter(r, opts.recordLimit())
	dec := json.NewDecoder(lim)
	dec.UseNumber()
	var path []string
	if p := strings.TrimSpace(opts.RecordPath); p != "" {
		path = strings.Split(p, ".")
	}
	return &jsonReader{lim: lim, dec: dec, path: path}
}

// Next returns the next element. An element that is not an object is a
// *RecordError; broken or truncated JSON is ErrMalformed.
func (j *jsonReader) Next() (Record, error) {
	if j.err != nil {
		return Record{}, j.err
	}
	if !j.started {
		j.started = true
		if err := j.start(); err != nil {
			j.err = err
			return Record{}, err
		}
	}
	j.lim.reset()
	if !j.dec.More() {
		j.err = j.finish()
		return Record{}, j.err
	}
	j.row++
	if err := j.dec.Decode(&j.raw); err != nil {
		j.err = j.fail(recordAt(j.row), err)
		return Record{}, j.err
	}
	s := string(j.raw)
	rawText := j.flat.compact(s)
	if c := firstByte(s); c != '{' {
		return Record{}, &RecordError{Row: j.row, Raw: rawText, Err: fmt.Errorf("json: element is %s, want an object", jsonKind(c))}
	}
	fields, err := j.flat.flatten(s)
	if err != nil {
		return Record{}, &RecordError{Row: j.row, Raw: rawText, Err: err}
	}
	return Record{Row: j.row, Fields: fields, Raw: rawText}, nil
}

// start reads up to the opening bracket of the record array.
func (j *jsonReader) start() error {
	tok, err := j.token()
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
		if tok != json.Delim('{') {
			return malformed("json", "start", fmt.Sprintf("%s is %s, want an object holding %q", where, tokenKind(tok), name))
		}
		j.open++
		found := false
		for j.dec.More() {
			key, err := j.token()
			if err != nil {
				return j.fail("start", err)
			}
			if key == name {
				found = true
				break
			}
			if err := j.skip(); err != nil {
				return j.fail("start", err)
			}
		}
		if !found {
			if _, err := j.token(); err != nil { // the closing brace
				return j.fail("start", err)
			}
			return malformed("json", "start", fmt.Sprintf("%s has no property %q (check Options.RecordPath)", where, name))
		}
		if tok, err = j.token(); err != nil {
			return j.fail("start", err)
		}
	}
	if tok != json.Delim('[') {
		if len(j.path) == 0 {
			hint := ""
			if tok == json.Delim('{') {
				hint = " (set Options.RecordPath to the property holding the array?)"
			}
			return malformed("json", "start", fmt.Sprintf("the top-level value is %s, want an array of records%s", tokenKind(tok), hint))
		}
		return malformed("json", "start", fmt.Sprintf("property %q is %s, want an array of records", strings.Join(j.path, "."), tokenKind(tok)))
	}
	return nil
}

// finish checks that the document ends properly after the array and
// returns io.EOF if it does: a feed cut right after a record must not pass
// for a complete one.
func (j *jsonReader) finish() error {
	where := afterRecord(j.row)
	if _, err := j.token(); err != nil { // the closing bracket
		return j.fail(where, err)
	}
	for ; j.open > 0; j.open-- {
		for j.dec.More() {
			if _, err := j.token(); err != nil { // a key
				return j.fail(where, err)
			}
			if err := j.skip(); err != nil {
				return j.fail(where, err)
			}
		}
		if _, err := j.token(); err != nil { // the closing brace
			return j.fail(where, err)
		}
	}
	switch _, err := j.token(); {
	case errors.Is(err, io.EOF):
		return io.EOF
	case err != nil:
		return j.fail(where, err)
	default:
		return malformed("json", where, "data after the end of the document")
	}
}

// token returns the next token, resetting the record bound: tokens outside
// records are small, except strings, which the bound then limits.
func (j *jsonReader) token() (json.Token, error) {
	j.lim.reset()
	return j.dec.Token()
}

// skip skips the value starting at the next token.
func (j *jsonReader) skip() error {
	depth := 0
	for {
		tok, err := j.token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// fail classifies an error of the decoder. An io.EOF here means the input
// ended where the syntax needs more, so it is a truncation like
// io.ErrUnexpectedEOF.
func (j *jsonReader) fail(where string, err error) error {
	var syn *json.SyntaxError
	switch {
	case j.lim.tripped:
		return malformed("json", where, fmt.Sprintf("record exceeds %d bytes", j.lim.max))
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("feed: json: %s: %w", where, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("json", where, "unexpected end of input (truncated file?)")
	case errors.As(err, &syn):
		return malformed("json", where, fmt.Sprintf("offset %d: %v", syn.Offset, err))
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

// tokenKind names the kind of a json.Token for messages.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return jsonKind(byte(t))
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

var _ Reader = (*jsonReader)(nil)
