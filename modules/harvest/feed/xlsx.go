package feed

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// xlsxReader streams the rows of one worksheet with excelize's row iterator.
// The first non-blank row is the header. Cells are read as stored, without
// number formats, so "1,234.50" display formatting never reaches a price;
// dates therefore arrive as Excel serial numbers.
type xlsxReader struct {
	maxField  int
	maxRecord int64
	f         *excelize.File
	rows      *excelize.Rows
	header    []string
	row       int64
	err       error // final error, returned by every later Next
	raw       rawBuf
	closed    bool
}

// newXLSXReader spools r to a temporary file, because a workbook is a zip
// archive whose directory sits at its end, and opens it. The spool is
// removed as soon as excelize has opened it: excelize keeps small parts in
// memory and extracts large worksheets to temporary files of its own, which
// File.Close removes.
func newXLSXReader(r io.Reader, opts Options) (_ *xlsxReader, err error) {
	tmp, err := os.CreateTemp("", "feed-*.xlsx")
	if err != nil {
		return nil, fmt.Errorf("feed: xlsx: spool: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("feed: xlsx: spool: %w", err)
	}
	f, err := excelize.OpenFile(tmp.Name(), excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, malformed("xlsx", "open", fmt.Sprintf("not a readable workbook: %v", err))
	}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	sheets := f.GetSheetList()
	sheet := opts.Sheet
	switch {
	case len(sheets) == 0:
		return nil, malformed("xlsx", "open", "the workbook has no sheets")
	case sheet == "":
		sheet = sheets[0]
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		var missing excelize.ErrSheetNotExist
		if errors.As(err, &missing) {
			return nil, malformed("xlsx", "open", fmt.Sprintf("no sheet %q (sheets: %s)", sheet, strings.Join(sheets, ", ")))
		}
		return nil, malformed("xlsx", fmt.Sprintf("sheet %q", sheet), err.Error())
	}
	return &xlsxReader{f: f, rows: rows, maxField: opts.fieldLimit(), maxRecord: opts.recordLimit()}, nil
}

// Next returns the next non-blank data row. Cells beyond the header's width
// have no name and are ignored.
func (x *xlsxReader) Next() (Record, error) {
	for x.err == nil {
		if !x.rows.Next() {
			switch err := x.rows.Error(); {
			case err != nil:
				x.err = malformed("xlsx", afterRecord(x.row), err.Error())
			case x.header == nil:
				x.err = malformed("xlsx", "header", "no header row (empty sheet)")
			default:
				x.err = io.EOF
			}
			break
		}
		cells, err := x.rows.Columns()
		if err != nil {
			x.err = malformed("xlsx", recordAt(x.row+1), err.Error())
			break
		}
		for i, v := range cells {
			cells[i] = cellValue(v)
		}
		if blank(cells) {
			continue
		}
		if x.header == nil {
			x.header = cells
			if blank(x.header) {
				x.err = malformed("xlsx", "header", "the header row has no column names")
			}
			continue
		}
		x.row++
		if err := x.check(cells); err != nil {
			return Record{}, &RecordError{Row: x.row, Raw: x.excerpt(cells), Err: err}
		}
		fields := make([]Field, 0, len(cells))
		for i, v := range cells {
			if i >= len(x.header) {
				break
			}
			if v != "" && x.header[i] != "" {
				fields = append(fields, Field{Name: x.header[i], Value: v})
			}
		}
		return Record{Row: x.row, Fields: fields, Raw: x.excerpt(cells)}, nil
	}
	return Record{}, x.err
}

// check returns why a row breaks a bound or holds invalid UTF-8, if it
// does. The workbook's XML is read whole by excelize, so these bounds keep
// the records small, not the reading: a worksheet is bounded by the
// caller's bound on the feed (and Excel's 32767 characters per cell).
func (x *xlsxReader) check(cells []string) error {
	var total int64
	for i, v := range cells {
		name := fmt.Sprintf("column %d", i+1)
		if i < len(x.header) && x.header[i] != "" {
			name = x.header[i]
		}
		if len(v) > x.maxField {
			return fieldTooLarge("xlsx", fmt.Sprintf("field %q", name), int64(len(v)), x.maxField)
		}
		if !utf8.ValidString(v) {
			return invalidUTF8("xlsx", fmt.Sprintf("field %q", name), invalidAt(v))
		}
		total += int64(len(v))
	}
	if total > x.maxRecord {
		return recordTooLarge("xlsx", total, x.maxRecord)
	}
	return nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

// cellValue trims a raw cell value and rounds binary float noise the way
// Excel displays it: Excel keeps 15 significant digits but writes doubles
// such as 19.99 as "19.989999999999998".
func cellValue(v string) string {
	v = clean(v, true)
	if len(v) <= 16 || !strings.ContainsAny(v, ".eE") || strings.Trim(v, "0123456789.eE+-") != "" {
		return v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return v
	}
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if a := math.Abs(rounded); a != 0 && (a >= 1e15 || a < 1e-9) {
		return strconv.FormatFloat(rounded, 'g', -1, 64)
	}
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}

func (x *xlsxReader) excerpt(cells []string) string {
	x.raw.reset()
	for i, v := range cells {
		if x.raw.full() {
			break
		}
		if i > 0 {
			x.raw.add(",")
		}
		x.raw.add(v)
	}
	return x.raw.String()
}

// Close releases excelize's temporary files.
func (x *xlsxReader) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	x.err = errClosed
	rerr := x.rows.Close()
	if rerr != nil && x.rows.Error() != nil && errors.Is(rerr, x.rows.Error()) {
		rerr = nil // Rows.Close repeats the iteration error Next already reported
	}
	if err := errors.Join(rerr, x.f.Close()); err != nil {
		return fmt.Errorf("feed: xlsx: close: %w", err)
	}
	return nil
}

var _ Reader = (*xlsxReader)(nil)
