package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonlReader reads one JSON object per line. Lines are independent, so a
// bad line is a *RecordError and reading goes on with the next.
type jsonlReader struct {
	br   *bufio.Reader
	max  int64
	buf  []byte
	skim jsonSkim // follows a line over max, to say why
	row  int64
	eof  bool  // the last line has been read
	err  error // final error, returned by every later Next
	flat flattener
}

func newJSONLReader(r io.Reader, opts Options) *jsonlReader {
	return &jsonlReader{br: bufio.NewReaderSize(r, 64<<10), max: opts.recordLimit(), flat: newFlattener("jsonl", opts)}
}

// Next returns the record of the next non-blank line.
func (l *jsonlReader) Next() (Record, error) {
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
			return Record{}, l.err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		l.row++
		if tooLong {
			err := recordTooLarge("jsonl", l.skim.total, l.max)
			if l.skim.longest > int64(l.flat.maxField) {
				err = fieldTooLarge("jsonl", l.skim.field(), l.skim.longest, l.flat.maxField)
			}
			return Record{}, &RecordError{Row: l.row, Raw: excerpt(string(line)), Err: err}
		}
		if !json.Valid(line) {
			// Unmarshal only to learn why; it validates before it copies.
			err := json.Unmarshal(line, new(json.RawMessage))
			return Record{}, &RecordError{Row: l.row, Raw: excerpt(string(line)), Err: fmt.Errorf("jsonl: invalid JSON: %v", err)}
		}
		s := string(line)
		rawText := l.flat.compact(s)
		if s[0] != '{' {
			return Record{}, &RecordError{Row: l.row, Raw: rawText, Err: fmt.Errorf("jsonl: line holds %s, want an object", jsonKind(s[0]))}
		}
		fields, err := l.flat.flatten(s)
		if err != nil {
			return Record{}, &RecordError{Row: l.row, Raw: rawText, Err: err}
		}
		return Record{Row: l.row, Fields: fields, Raw: rawText}, nil
	}
	return Record{}, l.err
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

var _ Reader = (*jsonlReader)(nil)
