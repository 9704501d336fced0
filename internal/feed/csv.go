package feed

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// csvReader reads delimiter-separated text whose first row is the header.
type csvReader struct {
	lim     *limiter
	cr      *csv.Reader
	sep     string
	header  []string
	started bool
	row     int64
	err     error // final error, returned by every later Next
	pending *csvRow
	raw     rawBuf
}

// csvRow is a row read ahead of its turn (see Next).
type csvRow struct {
	rec  []string
	line int
	err  error
}

func newCSVReader(r io.Reader, opts Options) (*csvReader, error) {
	delim := opts.Delimiter
	if delim == 0 {
		delim = ','
	}
	if !validDelimiter(delim) {
		return nil, fmt.Errorf("feed: new reader: invalid csv delimiter %q (use ',', ';', '\\t' or '|')", delim)
	}
	lim := newLimiter(r, opts.recordLimit())
	cr := csv.NewReader(lim)
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // checked here, to make a wrong count a RecordError
	cr.ReuseRecord = true
	return &csvReader{lim: lim, cr: cr, sep: string(delim)}, nil
}

// validDelimiter mirrors the rules of encoding/csv, so a bad option fails in
// NewReader rather than on the first record.
func validDelimiter(r rune) bool {
	return r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// read returns the next row, the line it starts on and encoding/csv's error.
func (c *csvReader) read() ([]string, int, error) {
	if p := c.pending; p != nil {
		c.pending = nil
		return p.rec, p.line, p.err
	}
	c.lim.reset()
	rec, err := c.cr.Read()
	if c.lim.tripped {
		return nil, 0, errTooLarge
	}
	line := 0
	if len(rec) > 0 {
		line, _ = c.cr.FieldPos(0)
	}
	return rec, line, err
}

func (c *csvReader) readHeader() error {
	rec, _, err := c.read()
	switch {
	case errors.Is(err, io.EOF):
		return malformed("csv", "header", "no header row (empty file)")
	case errors.Is(err, errTooLarge):
		return malformed("csv", "header", fmt.Sprintf("header exceeds %d bytes", c.lim.max))
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return malformed("csv", "header", pe.Error())
		}
		return fmt.Errorf("feed: csv: header: %w", err)
	}
	c.header = make([]string, len(rec))
	named := false
	for i, name := range rec {
		c.header[i] = clean(name, true)
		named = named || c.header[i] != ""
	}
	if !named {
		return malformed("csv", "header", "the header row has no column names")
	}
	return nil
}

// Next returns the next data row. A row whose field count differs from the
// header's, or that has a quote out of place, is a *RecordError. A quoted
// field still open at the end of the file means the file was cut and is
// ErrMalformed.
func (c *csvReader) Next() (Record, error) {
	if c.err != nil {
		return Record{}, c.err
	}
	if !c.started {
		c.started = true
		if err := c.readHeader(); err != nil {
			c.err = err
			return Record{}, err
		}
	}
	rec, line, err := c.read()
	if err != nil {
		return Record{}, c.fail(rec, err)
	}
	c.row++
	if len(rec) != len(c.header) {
		return Record{}, &RecordError{
			Row: c.row,
			Raw: c.excerpt(rec),
			Err: fmt.Errorf("csv: line %d: %d fields, the header has %d", line, len(rec), len(c.header)),
		}
	}
	n := 0
	for i, v := range rec {
		rec[i] = clean(v, true)
		if rec[i] != "" && c.header[i] != "" {
			n++
		}
	}
	fields := make([]Field, 0, n)
	for i, v := range rec {
		if v != "" && c.header[i] != "" {
			fields = append(fields, Field{Name: c.header[i], Value: v})
		}
	}
	return Record{Row: c.row, Fields: fields, Raw: c.excerpt(rec)}, nil
}

// fail turns an error from read into a *RecordError or a final error.
func (c *csvReader) fail(rec []string, err error) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		c.err = io.EOF
	case errors.Is(err, errTooLarge):
		c.err = malformed("csv", recordAt(c.row+1), fmt.Sprintf("record exceeds %d bytes (unterminated quoted field?)", c.lim.max))
	case errors.As(err, &pe):
		c.row++
		rerr := &RecordError{Row: c.row, Raw: c.excerpt(rec), Err: fmt.Errorf("csv: %w", pe)}
		if !errors.Is(pe.Err, csv.ErrQuote) {
			return rerr
		}
		// ErrQuote also reports a quoted field that runs to the end of the
		// input; then nothing follows and the file is cut, not one bad row.
		// (A quote error on the very last line is reported the same way.)
		next, line, nerr := c.read()
		if errors.Is(nerr, io.EOF) {
			c.err = malformed("csv", recordAt(c.row), fmt.Sprintf("line %d: quoted field not closed before the end of the file (truncated?)", pe.StartLine))
			return c.err
		}
		c.pending = &csvRow{rec: append([]string(nil), next...), line: line, err: nerr}
		return rerr
	default:
		c.err = fmt.Errorf("feed: csv: %s: %w", recordAt(c.row+1), err)
	}
	return c.err
}

func (c *csvReader) excerpt(rec []string) string {
	c.raw.reset()
	for i, v := range rec {
		if c.raw.full() {
			break
		}
		if i > 0 {
			c.raw.add(c.sep)
		}
		c.raw.add(v)
	}
	return c.raw.String()
}

// Close marks the reader closed; it holds no resources.
func (c *csvReader) Close() error {
	c.err = errClosed
	return nil
}

var _ Reader = (*csvReader)(nil)
