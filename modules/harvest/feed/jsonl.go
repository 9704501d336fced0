package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"
)

// jsonlReader reads one JSON object per line. Lines are independent, so a
// bad line is a *RecordError and reading goes on with the next. It is a
// Splitter: NextRaw only cuts lines, and Finish (on the normalising
// goroutines) validates and flattens them, which is most of the work
// (json.Valid alone was a third of it).
type jsonlReader struct {
	br    *bufio.Reader
	max   int64
	buf   []byte
	skim  jsonSkim // follows a line over max, to say why
	texts textSlab
	row   int64
	eof   bool  // the last line has been read
	err   error // final error, returned by every later Next
	opts  Options
	fin   Finisher // Next's
	// rawContext digests what Finish reads besides a line (RawKey).
	rawContext uint64
}

func newJSONLReader(r io.Reader, opts Options) *jsonlReader {
	return &jsonlReader{br: bufio.NewReaderSize(r, 64<<10), max: opts.recordLimit(), opts: opts, rawContext: jsonRawContext("jsonl", opts)}
}

// Next returns the record of the next non-blank line.
func (l *jsonlReader) Next() (Record, error) {
	raw, err := l.NextRaw()
	if err != nil {
		return Record{}, err
	}
	rec, err := l.Finish(raw, &l.fin)
	rec.Fields = slices.Clone(rec.Fields) // Next's records are the caller's
	return rec, err
}

// NextRaw returns the next non-blank line, unparsed; a line over the
// record bound is its *RecordError.
func (l *jsonlReader) NextRaw() (RawRecord, error) {
	for l.err == nil {
		if l.eof {
			l.err = io.EOF
			break
		}
		line, tooLong, err := l.readLine()
		switch {
		case errors.Is(err, io.EOF):
			l.eof = true
		case err != nil:
			l.err = fmt.Errorf("feed: jsonl: %s: %w", recordAt(l.row+1), err)
			return RawRecord{}, l.err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		l.row++
		if tooLong {
			err := recordTooLarge("jsonl", l.skim.total, l.max)
			if maxField := l.opts.fieldLimit(); l.skim.longest > int64(maxField) {
				err = fieldTooLarge("jsonl", l.skim.field(), l.skim.longest, maxField)
			}
			return RawRecord{}, &RecordError{Row: l.row, Raw: excerpt(string(line)), Err: err}
		}
		return RawRecord{Row: l.row, text: l.texts.text(line)}, nil
	}
	return RawRecord{}, l.err
}

// Finish validates and flattens a line of NextRaw; see Splitter. Its
// Fields live in f.
func (l *jsonlReader) Finish(raw RawRecord, f *Finisher) (Record, error) {
	flat := f.flattener("jsonl", l.opts)
	s := raw.text
	if s[0] == '{' {
		// The flattener holds JSON's grammar, so a line it flattens is
		// JSON: encoding/json looks at the others alone, to tell a bound
		// or UTF-8 error in valid JSON from invalid JSON, and say why.
		// The record's Raw is the line as it is (an excerpt): compacting
		// every line cost a fifth of reading it, for the rejects alone.
		fields, err := flat.flatten(s)
		if err == nil {
			return Record{Row: raw.Row, Fields: fields, Raw: excerpt(s)}, nil
		}
		if validJSON(s) {
			return Record{}, &RecordError{Row: raw.Row, Raw: flat.compact(s), Err: err}
		}
	} else if validJSON(s) {
		return Record{}, &RecordError{Row: raw.Row, Raw: flat.compact(s), Err: fmt.Errorf("jsonl: line holds %s, want an object", jsonKind(s[0]))}
	}
	// Unmarshal only to learn why; it validates before it copies.
	err := json.Unmarshal([]byte(s), new(json.RawMessage))
	return Record{}, &RecordError{Row: raw.Row, Raw: excerpt(s), Err: fmt.Errorf("jsonl: invalid JSON: %v", err)}
}

// validJSON is json.Valid on a view of s, which it reads and does not
// keep: a copy would cost an allocation.
func validJSON(s string) bool {
	return json.Valid(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// readLine returns the next line, valid until the next call. A line longer
// than l.max is read to its end but only its start is kept, and l.skim
// follows all of it.
func (l *jsonlReader) readLine() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		if len(l.buf) == 0 && !tooLong && !errors.Is(err, bufio.ErrBufferFull) {
			if int64(len(chunk)) > l.max {
				l.skim.reset()
				l.skim.feed(chunk)
				return chunk[:min(len(chunk), maxRaw)], true, err
			}
			return chunk, false, err // the common case: no copy
		}
		if !tooLong && int64(len(l.buf)+len(chunk)) > l.max {
			tooLong = true
			l.skim.reset()
			l.skim.feed(l.buf)
			l.buf = l.buf[:min(len(l.buf), maxRaw)]
			if len(l.buf) < maxRaw {
				l.buf = append(l.buf, chunk[:min(len(chunk), maxRaw-len(l.buf))]...)
			}
		}
		if tooLong {
			l.skim.feed(chunk)
		} else {
			l.buf = append(l.buf, chunk...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return l.buf, tooLong, err
		}
	}
}

// Close marks the reader closed; it holds no resources.
func (l *jsonlReader) Close() error {
	l.err = errClosed
	return nil
}

var _ Splitter = (*jsonlReader)(nil)
