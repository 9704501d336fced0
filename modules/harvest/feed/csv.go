package feed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// csvReader reads delimiter-separated text whose first row is the header.
//
// It parses rows itself instead of through encoding/csv, because a row's
// string from encoding/csv plus a second string for Raw made up most of the
// cost of a large import. The syntax is exactly encoding/csv's with
// LazyQuotes and TrimLeadingSpace off: parseRow and readLine are its
// readRecord and readLine, the row is read through the same 4 KiB
// bufio.Reader, and syntax errors are the same *csv.ParseError values.
//
// Unlike encoding/csv it never buffers more of a row than the record bound:
// past it, skipRow reads to the end of the row keeping nothing.
type csvReader struct {
	maxRecord int64
	maxField  int
	br        *bufio.Reader
	comma     rune
	sep       string
	header    []string
	distinct  bool // no header name repeats (Record.distinct)
	// rawContext is the digest of what Finish reads besides a record's
	// text and value ends (RawKey), set with the header.
	rawContext uint64
	started    bool
	row        int64
	lines      int   // lines read so far
	err        error // final error, returned by every later Next
	pending    *csvRow
	cur        csvRow  // the row being parsed; its buffers are reused
	long       []byte  // a line longer than br's buffer
	text       []byte  // a row's values joined by sep, when cleaning changes them
	ends       []int   // end of each value in text
	slab       []Field // Fields for the next records (see fields)
	endSlab    []int   // field ends for the next raw records (see endsOf)
	texts      textSlab
	raw        rawBuf
}

// csvRow is one parsed row: the unquoted text of its fields joined by the
// delimiter in buf, field i ending at ends[i]. Joined like that, the fields
// usually are the record's text as is (see record).
type csvRow struct {
	buf  []byte
	ends []int
	line int    // the line the row starts on; 0 if it has no fields
	err  error  // encoding/csv's error for the row, or csvSkipped
	raw  string // an excerpt of a skipped row
}

// strings returns the fields of row as encoding/csv would. Only the rare
// paths (header, rejected rows) need them.
func (c *csvReader) strings(row *csvRow) []string {
	if len(row.ends) == 0 {
		return nil
	}
	s := string(row.buf)
	rec := make([]string, len(row.ends))
	start := 0
	for i, end := range row.ends {
		rec[i] = s[start:end]
		start = end + len(c.sep)
	}
	return rec
}

func (r *csvRow) clone() *csvRow {
	return &csvRow{buf: bytes.Clone(r.buf), ends: append([]int(nil), r.ends...), line: r.line, err: r.err, raw: r.raw}
}

func newCSVReader(r io.Reader, opts Options) (*csvReader, error) {
	delim := opts.Delimiter
	if delim == 0 {
		delim = ','
	}
	if !validDelimiter(delim) {
		return nil, fmt.Errorf("feed: new reader: invalid csv delimiter %q (use ',', ';', '\\t' or '|')", delim)
	}
	return &csvReader{maxRecord: opts.recordLimit(), maxField: opts.fieldLimit(), br: bufio.NewReader(r), comma: delim, sep: string(delim)}, nil
}

// validDelimiter mirrors the rules of encoding/csv, so a bad option fails in
// NewReader rather than on the first record.
func validDelimiter(r rune) bool {
	return r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// read returns the next row. The row is valid until the next call.
func (c *csvReader) read() *csvRow {
	if p := c.pending; p != nil {
		c.pending = nil
		return p
	}
	row := &c.cur
	c.parseRow(row)
	return row
}

// readLine is encoding/csv's: it reads the next line with its trailing
// "\n", turning a final "\r\n" into "\n". If some bytes were read, the
// error is never io.EOF. The line is valid until the next call.
//
// A line longer than budget bytes is not read whole: readLine returns its
// start with errLong, and the caller reads the rest with skipRow.
func (c *csvReader) readLine(budget int64) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		c.long = append(c.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if int64(len(c.long)) > budget {
				c.lines++
				return c.long, errLong
			}
			line, err = c.br.ReadSlice('\n')
			c.long = append(c.long, line...)
		}
		line = c.long
	}
	if n := len(line); n > 0 && err == io.EOF {
		err = nil
		if line[n-1] == '\r' { // encoding/csv drops a trailing \r before EOF
			line = line[:n-1]
		}
	}
	c.lines++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

// indexComma returns the index of the first delimiter in b, or -1.
func (c *csvReader) indexComma(b []byte) int {
	if c.comma < utf8.RuneSelf {
		return bytes.IndexByte(b, byte(c.comma))
	}
	return bytes.IndexRune(b, c.comma)
}

// lengthNL reports the number of bytes for the trailing \n.
func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// nextRune returns the next rune in b or utf8.RuneError.
func nextRune(b []byte) rune {
	r, _ := utf8.DecodeRune(b)
	return r
}

// parseRow reads the next row into row, skipping blank lines. It is
// encoding/csv's readRecord, keeping only what this reader uses: on a syntax
// error the fields before it are kept, as encoding/csv returns them too.
func (c *csvReader) parseRow(row *csvRow) {
	line, errRead := c.firstLine()
	c.parseLine(row, line, errRead)
}

// firstLine reads the first line of the next row, skipping blank lines:
// readLine's line and error.
func (c *csvReader) firstLine() ([]byte, error) {
	for {
		line, err := c.readLine(c.maxRecord)
		if err == nil && len(line) == lengthNL(line) {
			continue // skip empty lines
		}
		return line, err
	}
}

// parseLine is parseRow given the row's first line, as firstLine returned
// it.
func (c *csvReader) parseLine(row *csvRow, line []byte, errRead error) {
	row.buf, row.ends, row.line, row.err, row.raw = row.buf[:0], row.ends[:0], 0, nil, ""
	if errRead == io.EOF {
		row.err = errRead
		return
	}
	if errRead == errLong {
		c.skipRow(row, line, false, 0, 0)
		return
	}

	var err error
	const quoteLen = len(`"`)
	commaLen := utf8.RuneLen(c.comma)
	recLine := c.lines
	posLine, col := c.lines, 1
	// quote is the index of the first '"' in line, or -1: one search per
	// line rather than one per field finds a bare quote.
	quote := bytes.IndexByte(line, '"')
	plain := quote < 0
	if plain {
		// No quote in the line: its fields are its text as is, split at
		// the delimiters, which the loop below would copy field by field.
		row.buf = append(row.buf, line[:len(line)-lengthNL(line)]...)
		for from := 0; ; {
			i := c.indexComma(row.buf[from:])
			if i < 0 {
				row.ends = append(row.ends, len(row.buf))
				break
			}
			row.ends = append(row.ends, from+i)
			from += i + commaLen
		}
	}
parseField:
	for !plain {
		if quote != 0 {
			// Non-quoted field.
			i := c.indexComma(line)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if quote >= 0 && quote < len(field) {
				err = &csv.ParseError{StartLine: recLine, Line: c.lines, Column: col + quote, Err: csv.ErrBareQuote}
				break parseField
			}
			if i >= 0 {
				// Copy the delimiter too: buf joins the fields with it.
				row.buf = append(row.buf, line[:i+commaLen]...)
				row.ends = append(row.ends, len(row.buf)-commaLen)
				line = line[i+commaLen:]
				col += i + commaLen
				if quote >= 0 {
					quote -= i + commaLen // the quote is after the delimiter
				}
				continue parseField
			}
			row.buf = append(row.buf, field...)
			row.ends = append(row.ends, len(row.buf))
			break parseField
		}
		// Quoted field.
		line = line[quoteLen:]
		col += quoteLen
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				// Hit the next quote.
				row.buf = append(row.buf, line[:i]...)
				line = line[i+quoteLen:]
				col += i + quoteLen
				switch rn := nextRune(line); {
				case rn == '"':
					// `""` sequence (append quote).
					row.buf = append(row.buf, '"')
					line = line[quoteLen:]
					col += quoteLen
				case rn == c.comma:
					// `",` sequence (end of field).
					row.ends = append(row.ends, len(row.buf))
					row.buf = append(row.buf, line[:commaLen]...)
					line = line[commaLen:]
					col += commaLen
					quote = bytes.IndexByte(line, '"')
					continue parseField
				case lengthNL(line) == len(line):
					// `"\n` sequence (end of line).
					row.ends = append(row.ends, len(row.buf))
					break parseField
				default:
					// `"*` sequence (invalid non-escaped quote).
					err = &csv.ParseError{StartLine: recLine, Line: c.lines, Column: col - quoteLen, Err: csv.ErrQuote}
					break parseField
				}
			case len(line) > 0:
				// Hit the end of the line (copy all data so far).
				row.buf = append(row.buf, line...)
				if errRead != nil {
					break parseField
				}
				col += len(line)
				from := 0
				if n := len(row.ends); n > 0 {
					from = row.ends[n-1] + commaLen
				}
				line, errRead = c.readLine(c.maxRecord - int64(len(row.buf)))
				if errRead == errLong || int64(len(row.buf)) > c.maxRecord {
					// The row is too long: read the rest, in the quoted field.
					row.line = recLine
					c.skipRow(row, line, true, len(row.ends), int64(len(row.buf)-from))
					return
				}
				if len(line) > 0 {
					posLine++
					col = 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default:
				// Abrupt end of file (EOF or error).
				if errRead == nil {
					err = &csv.ParseError{StartLine: recLine, Line: posLine, Column: col, Err: csv.ErrQuote}
					break parseField
				}
				row.ends = append(row.ends, len(row.buf))
				break parseField
			}
		}
	}
	if err == nil {
		err = errRead
	}
	row.err = err
	if len(row.ends) > 0 {
		row.line = recLine
	}
	if int64(len(row.buf)) > c.maxRecord && err == nil {
		// A row read whole, but over the bound: lines shorter than the
		// reader's buffer are not checked one by one.
		sk := &csvSkipped{total: int64(len(row.buf))}
		from := 0
		for i, to := range row.ends {
			if n := int64(to - from); n > sk.size {
				sk.field, sk.size = i, n
			}
			from = to + commaLen
		}
		row.raw = excerpt(string(row.buf[:min(len(row.buf), 2*maxRaw)]))
		row.err = sk
	}
}

func (c *csvReader) readHeader() error {
	row := c.read()
	switch err := row.err; {
	case errors.Is(err, io.EOF):
		return malformed("csv", "header", "no header row (empty file)")
	case errors.As(err, new(*csvSkipped)):
		return malformed("csv", "header", fmt.Sprintf("header exceeds %d bytes (Options.MaxRecordBytes)", c.maxRecord))
	case errors.Is(err, errOpenQuote):
		return truncated("csv", "header", "quoted field not closed before the end of the file")
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return malformed("csv", "header", pe.Error())
		}
		return fmt.Errorf("feed: csv: header: %w", err)
	}
	rec := c.strings(row)
	c.header = make([]string, len(rec))
	named := false
	for i, name := range rec {
		if !utf8.ValidString(name) {
			return malformed("csv", "header", invalidUTF8("csv", fmt.Sprintf("column %d", i+1), invalidAt(name)).Error())
		}
		c.header[i] = clean(name, true)
		named = named || c.header[i] != ""
	}
	if !named {
		return malformed("csv", "header", "the header row has no column names")
	}
	seen := make(map[string]bool, len(c.header))
	c.distinct = true
	for _, name := range c.header {
		c.distinct = c.distinct && (name == "" || !seen[name])
		seen[name] = true
	}
	d := xxhash.New()
	fmt.Fprintf(d, "%s\x00%q %q", csvFinishVersion, c.sep, c.header)
	c.rawContext = d.Sum64()
	return nil
}

// csvFinishVersion names the rules by which Finish makes a record's Fields
// of its values (tidy, joinValues, the header's names), as
// xmlFinishVersion does XML's. TestFinishVersions holds it to a digest of
// what Finish returns for the test feeds' records.
const csvFinishVersion = "feed/csv/finish/1"

// RawKey returns a record's values, joined by the delimiter, and a digest
// of where each ends, the delimiter, the header and csvFinishVersion: the
// rest Finish reads. See RawKeyer.
//
// An uncut row's ends are found here as Finish finds them (unless Cut
// found them already), and digested the same: its key is the one the row
// would have had cut by NextRaw, so that products stored from either are
// found by it.
func (c *csvReader) RawKey(raw RawRecord) (string, uint64, bool) {
	var b [128]byte
	d := xxhash.NewWithSeed(c.rawContext)
	n := 0
	put := func(end int) {
		if n == len(b) {
			d.Write(b[:n]) //nolint:errcheck // a Digest's Write never fails
			n = 0
		}
		binary.LittleEndian.PutUint32(b[n:], uint32(end))
		n += 4
	}
	if raw.uncut && raw.ends == nil {
		for from := 0; ; {
			i := c.indexCommaString(raw.text[from:])
			if i < 0 {
				put(len(raw.text))
				break
			}
			put(from + i)
			from += i + len(c.sep)
		}
	} else {
		for _, end := range raw.ends {
			put(end)
		}
	}
	if n > 0 {
		d.Write(b[:n]) //nolint:errcheck // a Digest's Write never fails
	}
	return raw.text, d.Sum64(), true
}

var _ RawKeyer = (*csvReader)(nil)

// Next returns the next data row. A row whose field count differs from the
// header's, or that has a quote out of place, is a *RecordError. A quoted
// field still open at the end of the file means the file was cut and is
// ErrMalformed.
func (c *csvReader) Next() (Record, error) {
	row, err := c.nextRow()
	if err != nil {
		return Record{}, err
	}
	// finish is done with row.ends before the next read reuses them.
	return c.finish(RawRecord{Row: c.row, line: row.line, text: string(row.buf), ends: row.ends}, nil)
}

// NextRaw is Next but for the cleaning of values and the building of
// Fields, which Finish does (see Splitter). A row of one line without a
// quote is not even cut into its values here (RawRecord.uncut): Finish
// finds them, and rejects the row if it has as many as the header not.
// Cutting was about a third of this goroutine's time, which bounds a
// re-harvest.
func (c *csvReader) NextRaw() (RawRecord, error) {
	if line, ok := c.plainRow(); ok {
		return RawRecord{Row: c.row, line: c.lines, text: c.texts.text(line), uncut: true}, nil
	}
	row, err := c.nextRow()
	if err != nil {
		return RawRecord{}, err
	}
	return RawRecord{Row: c.row, line: row.line, text: c.texts.text(row.buf), ends: c.endsOf(row.ends)}, nil
}

// start reads the header, before the first row: false when that failed
// (c.err says why).
func (c *csvReader) start() bool {
	if !c.started {
		c.started = true
		if err := c.readHeader(); err != nil {
			c.err = err
			return false
		}
	}
	return true
}

// plainRow reads the next row when it is one line, no longer than the
// record bound, without a quote: its values, joined by the delimiter, are
// the line as it is (without its newline), valid until the next read. Any
// other row it parses into c.cur, left pending for nextRow, and is false.
func (c *csvReader) plainRow() ([]byte, bool) {
	if c.err != nil || c.pending != nil || !c.start() {
		return nil, false
	}
	line, err := c.firstLine()
	if text := line[:len(line)-lengthNL(line)]; err == nil && int64(len(text)) <= c.maxRecord && bytes.IndexByte(text, '"') < 0 {
		c.row++
		return text, true
	}
	c.parseLine(&c.cur, line, err)
	c.pending = &c.cur
	return nil, false
}

// cut appends the end of each value of an uncut row's text to ends.
func (c *csvReader) cut(text string, ends []int) []int {
	for from := 0; ; {
		i := c.indexCommaString(text[from:])
		if i < 0 {
			return append(ends, len(text))
		}
		ends = append(ends, from+i)
		from += i + len(c.sep)
	}
}

// indexCommaString is indexComma for a string.
func (c *csvReader) indexCommaString(s string) int {
	if c.comma < utf8.RuneSelf {
		return strings.IndexByte(s, byte(c.comma))
	}
	return strings.IndexRune(s, c.comma)
}

// checkCut rejects an uncut row, once cut, as nextRow would have: for its
// number of values, or for a value over the field bound.
func (c *csvReader) checkCut(raw RawRecord) error {
	if len(raw.ends) != len(c.header) {
		return &RecordError{Row: raw.Row, Raw: c.excerptOf(raw.text, raw.ends),
			Err: fmt.Errorf("csv: line %d: %d fields, the header has %d", raw.line, len(raw.ends), len(c.header))}
	}
	if len(raw.text) > c.maxField {
		if err := c.checkEnds(raw.line, raw.ends); err != nil {
			return &RecordError{Row: raw.Row, Raw: c.excerptOf(raw.text, raw.ends), Err: err}
		}
	}
	return nil
}

// nextRow reads the next well-formed data row, valid until the next read.
func (c *csvReader) nextRow() (*csvRow, error) {
	if c.err != nil || !c.start() {
		return nil, c.err
	}
	row := c.read()
	if row.err != nil {
		return nil, c.fail(row)
	}
	c.row++
	if len(row.ends) != len(c.header) {
		rec := c.strings(row)
		return nil, &RecordError{
			Row: c.row,
			Raw: c.excerpt(rec),
			Err: fmt.Errorf("csv: line %d: %d fields, the header has %d", row.line, len(rec), len(c.header)),
		}
	}
	if len(row.buf) > c.maxField {
		if err := c.checkFields(row); err != nil {
			return nil, &RecordError{Row: c.row, Raw: c.excerpt(c.strings(row)), Err: err}
		}
	}
	return row, nil
}

// checkFields returns why a field of row is too long, if one is.
func (c *csvReader) checkFields(row *csvRow) error {
	return c.checkEnds(row.line, row.ends)
}

// checkEnds is checkFields of a row on line whose values end at ends.
func (c *csvReader) checkEnds(line int, ends []int) error {
	from := 0
	for i, to := range ends {
		if to-from > c.maxField {
			return fieldTooLarge("csv", fmt.Sprintf("line %d: field %q", line, c.header[i]), int64(to-from), c.maxField)
		}
		from = to + len(c.sep)
	}
	return nil
}

// finish builds the Record of a well-formed row (see Splitter.Finish), its
// Fields from f, or from the reader's slab when f is nil (on the reader's
// goroutine). The row's values are the text that the Field values slice,
// and whose start is Raw: a record costs that one string, made by NextRaw.
// Only values with surrounding white space make finish build a second.
func (c *csvReader) finish(raw RawRecord, f *Finisher) (Record, error) {
	text, ends := raw.text, raw.ends
	n, tidy := c.tidy(text, ends)
	if !tidy {
		if !utf8.ValidString(text) {
			return Record{}, &RecordError{Row: raw.Row, Raw: c.excerptOf(text, ends), Err: c.badUTF8(raw)}
		}
		buf, joined := &c.text, &c.ends
		if f != nil {
			buf, joined = &f.text, &f.ends
		}
		n = c.joinValues(text, ends, buf, joined)
		text, ends = string(*buf), *joined
	}
	var fields []Field
	if f != nil {
		if cap(f.fields) > keptFields {
			f.fields = nil // a very wide record's Fields are not kept for the rest of the feed
		}
		fields = f.fields[:0]
	} else {
		fields = c.fields(n)
	}
	from := 0
	for i, to := range ends {
		if to > from && c.header[i] != "" {
			fields = append(fields, Field{Name: c.header[i], Value: text[from:to]})
		}
		from = to + len(c.sep)
	}
	if f != nil {
		f.fields = fields
	}
	// text is valid UTF-8 (every value is cleaned, the delimiter is a valid
	// rune), so its excerpt is a prefix of it. The prefix shares the text's
	// memory unless the text is long, so that keeping Raw alone (a reject
	// report) does not keep a long record alive.
	excerpt := excerptValid(text)
	if len(text) > 2*maxRaw {
		excerpt = strings.Clone(excerpt)
	}
	return Record{Row: raw.Row, Fields: fields, Raw: excerpt, distinct: c.distinct}, nil
}

// keptFields bounds the Fields a Finisher keeps from one record to the
// next (16 KiB): a record at the record bound can have half a million.
const keptFields = 512

// excerptOf is the excerpt of a row's values, as c.excerpt(c.strings(row))
// makes it, for any goroutine.
func (c *csvReader) excerptOf(text string, ends []int) string {
	var w rawBuf
	from := 0
	for i, to := range ends {
		if w.full() {
			break
		}
		if i > 0 {
			w.add(c.sep)
		}
		w.add(text[from:to])
		from = to + len(c.sep)
	}
	return w.String()
}

// badUTF8 explains why a row holding invalid UTF-8 is rejected, naming the
// first field that holds it.
func (c *csvReader) badUTF8(raw RawRecord) error {
	from := 0
	for i, to := range raw.ends {
		if v := raw.text[from:to]; !utf8.ValidString(v) {
			return invalidUTF8("csv", fmt.Sprintf("line %d: field %q", raw.line, c.header[i]), invalidAt(v))
		}
		from = to + len(c.sep)
	}
	return invalidUTF8("csv", fmt.Sprintf("line %d", raw.line), invalidAt(raw.text))
}

// tidy reports whether cleaning leaves every value of a row as it is: no
// value has surrounding white space and all are valid UTF-8. The joined
// text is valid exactly when every value is, because the delimiter between
// them is a whole rune, so one check of the whole does. If so, it also
// returns the number of Fields the row makes, as joinValues.
func (c *csvReader) tidy(text string, ends []int) (n int, ok bool) {
	from := 0
	for i, to := range ends {
		v := text[from:to]
		from = to + len(c.sep)
		if len(v) == 0 {
			continue
		}
		if maybeSpace(v[0]) && isSpaceAt(v, 0) || maybeSpace(v[len(v)-1]) && isSpaceAt(v, len(v)-1) {
			return 0, false
		}
		if c.header[i] != "" {
			n++
		}
	}
	return n, utf8.ValidString(text)
}

// maybeSpace is a quick test that is false for most bytes of text and true
// for every byte that isSpaceAt needs to look at.
func maybeSpace(b byte) bool { return b <= ' ' || b >= utf8.RuneSelf }

// isSpaceAt reports whether the byte at i of v starts or ends a rune that
// strings.TrimSpace would trim.
func isSpaceAt(v string, i int) bool {
	if b := v[i]; b < utf8.RuneSelf {
		return asciiSpace[b]
	}
	var r rune
	if i == 0 {
		r, _ = utf8.DecodeRuneInString(v)
	} else {
		r, _ = utf8.DecodeLastRuneInString(v)
	}
	return unicode.IsSpace(r)
}

// asciiSpace is the ASCII white space that strings.TrimSpace trims.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// joinValues sets *buf to the row's values cleaned as clean(v, true) does,
// joined by the delimiter, and *joined to the end of each value in it. It
// returns the number of Fields the row makes: values that are not empty,
// in named columns.
func (c *csvReader) joinValues(text string, ends []int, buf *[]byte, joined *[]int) (n int) {
	b, e := (*buf)[:0], (*joined)[:0]
	from := 0
	for i, to := range ends {
		if i > 0 {
			b = append(b, c.sep...)
		}
		v := strings.TrimSpace(text[from:to]) // valid UTF-8, checked by finish
		b = append(b, v...)
		e = append(e, len(b))
		from = to + len(c.sep)
		if len(v) > 0 && c.header[i] != "" {
			n++
		}
	}
	*buf, *joined = b, e
	return n
}

// endSlab is how many field ends the reader allocates at a time.
const endSlab = 1024

// endsOf copies a row's field ends for its RawRecord, from a shared slab
// like fields (see there).
func (c *csvReader) endsOf(ends []int) []int {
	if len(c.endSlab) < len(ends) {
		c.endSlab = make([]int, max(len(ends), endSlab))
	}
	e := c.endSlab[:len(ends):len(ends)]
	copy(e, ends)
	c.endSlab = c.endSlab[len(ends):]
	return e
}

// fieldSlab is how many Fields the reader allocates at a time.
const fieldSlab = 128

// fields returns an empty slice with room for n Fields. Records take their
// Fields from a shared slab to save an allocation per record; the capacity
// is capped, so appending to one record's Fields cannot overwrite another's.
// (A Record kept long after the next few keeps its slab, and so their
// values, alive: fine for a pipeline that processes records in order.)
func (c *csvReader) fields(n int) []Field {
	if n == 0 {
		return []Field{}
	}
	if len(c.slab) < n {
		c.slab = make([]Field, max(n, fieldSlab))
	}
	f := c.slab[:0:n]
	c.slab = c.slab[n:]
	return f
}

// fail turns a row that read returned with an error into a *RecordError or
// a final error.
func (c *csvReader) fail(row *csvRow) error {
	err := row.err
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		c.err = io.EOF
	case errors.Is(err, errOpenQuote):
		c.err = truncated("csv", recordAt(c.row+1), fmt.Sprintf("line %d: quoted field not closed before the end of the file", row.line))
	case errors.As(err, new(*csvSkipped)):
		c.row++
		return &RecordError{Row: c.row, Raw: row.raw, Err: c.tooLarge(row.line, err.(*csvSkipped))}
	case errors.As(err, &pe):
		c.row++
		rerr := &RecordError{Row: c.row, Raw: c.excerpt(c.strings(row)), Err: fmt.Errorf("csv: %w", pe)}
		if !errors.Is(pe.Err, csv.ErrQuote) {
			return rerr
		}
		// ErrQuote also reports a quoted field that runs to the end of the
		// input; then nothing follows and the file is cut, not one bad row.
		// (A quote error on the very last line is reported the same way.)
		next := c.read() // reuses row's buffers
		if errors.Is(next.err, io.EOF) {
			c.err = truncated("csv", recordAt(c.row), fmt.Sprintf("line %d: quoted field not closed before the end of the file", pe.StartLine))
			return c.err
		}
		c.pending = next.clone()
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

var _ Splitter = (*csvReader)(nil)

// Cut gives an uncut row its ends, in f.cut; see Cutter.
func (c *csvReader) Cut(raw *RawRecord, f *Finisher) {
	if !raw.uncut || raw.ends != nil {
		return
	}
	if cap(f.cut) > keptFields {
		f.cut = nil // as f.fields: a very wide row's ends are not kept
	}
	f.cut = c.cut(raw.text, f.cut[:0])
	raw.ends = f.cut
}

var _ Cutter = (*csvReader)(nil)

// Finish turns a RawRecord of this reader into its Record; see Splitter.
func (c *csvReader) Finish(raw RawRecord, f *Finisher) (Record, error) {
	if f == nil {
		panic("feed: Finish with a nil Finisher")
	}
	if raw.uncut {
		if raw.ends == nil {
			c.Cut(&raw, f)
		}
		raw.uncut = false
		if err := c.checkCut(raw); err != nil {
			return Record{}, err
		}
	}
	return c.finish(raw, f)
}
