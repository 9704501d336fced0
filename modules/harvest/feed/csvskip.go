package feed

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// errLong is readLine's error for a line longer than its budget.
var errLong = errors.New("line too long")

// errOpenQuote is skipRow's error for a quoted field still open at the end
// of the input: the file was cut.
var errOpenQuote = errors.New("quoted field not closed")

// csvSkipped is the error of a row longer than Options.MaxRecordBytes,
// which skipRow read past without keeping it.
type csvSkipped struct {
	field int   // the index of the longest field
	size  int64 // its size in bytes
	total int64 // the size of the row in bytes
}

func (e *csvSkipped) Error() string { return "row too long" }

// tooLarge is the reason for rejecting a skipped row starting on line.
func (c *csvReader) tooLarge(line int, sk *csvSkipped) error {
	if sk.size > int64(c.maxField) {
		name := fmt.Sprintf("column %d", sk.field+1)
		if sk.field < len(c.header) && c.header[sk.field] != "" {
			name = c.header[sk.field]
		}
		return fieldTooLarge("csv", fmt.Sprintf("line %d: field %q", line, name), sk.size, c.maxField)
	}
	return recordTooLarge("csv", sk.total, c.maxRecord)
}

// skipRow reads the rest of a row that outgrew Options.MaxRecordBytes,
// keeping nothing but an excerpt, and sets row.err to a *csvSkipped (or to
// errOpenQuote or a read error). line is the part read but not parsed yet;
// inQuote, field and size say where it starts: inside a quoted field or
// not, in which field, and how long that field is so far.
//
// It follows only quotes and delimiters, which is enough to find where a
// well-formed row ends; a row malformed as well as too long may end
// elsewhere, and the rows after it are then rejected for their field count.
func (c *csvReader) skipRow(row *csvRow, line []byte, inQuote bool, field int, size int64) {
	if len(row.buf) > 0 {
		row.raw = excerpt(string(row.buf[:min(len(row.buf), 2*maxRaw)]))
	} else {
		row.raw = excerpt(string(line[:min(len(line), 2*maxRaw)]))
	}
	if row.line == 0 {
		row.line = c.lines
	}
	sk := &csvSkipped{field: field, size: size, total: int64(len(row.buf))}
	note := func() {
		if size > sk.size {
			sk.field, sk.size = field, size
		}
	}
	comma := byte(c.comma) // an ASCII delimiter; see below for others
	wide := c.comma >= utf8.RuneSelf
	var err error
	closed := false // the last byte closed a quoted field
	for {
		for i, b := range line {
			wasClosed := closed
			closed = false
			switch {
			case b == '"' && inQuote:
				inQuote, closed = false, true
			case b == '"':
				inQuote = true
				if wasClosed {
					size++ // `""` inside a quoted field is one quote
				}
			case inQuote:
				size++
				if b == '\n' {
					c.lines++
				}
			case b == '\n':
				sk.total += int64(i + 1)
				note()
				row.buf, row.ends, row.err = row.buf[:0], row.ends[:0], sk
				return
			case !wide && b == comma:
				note()
				field, size = field+1, 0
			default:
				size++ // a wide delimiter counts as data: fields are not split
			}
		}
		sk.total += int64(len(line))
		if err != nil {
			break
		}
		line, err = c.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
	}
	row.buf, row.ends = row.buf[:0], row.ends[:0]
	switch {
	case !errors.Is(err, io.EOF):
		row.err = err
	case inQuote:
		row.err = errOpenQuote
	default:
		note()
		row.err = sk
	}
}

// invalidAt returns the offset of the first byte of s that is not UTF-8.
func invalidAt(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
	}
	return len(s)
}
