package feedgen

import (
	"bufio"
	"encoding/csv"
	"strconv"
	"unicode/utf8"
)

// encoder renders records in one feed format. It writes to a *bufio.Writer,
// whose errors are sticky, so the first failed write surfaces from the next
// call and no record is silently lost.
type encoder interface {
	begin() error
	record(r *record) error
	end() error
}

// newEncoder returns the encoder for format, or nil for an unknown format.
func newEncoder(format string, w *bufio.Writer) encoder {
	switch format {
	case "csv":
		return newCSVEncoder(w)
	case "jsonl":
		return &jsonEncoder{w: w, lines: true}
	case "json":
		return &jsonEncoder{w: w}
	case "xml":
		return &xmlEncoder{w: w}
	case "yml":
		return &ymlEncoder{w: w}
	}
	return nil
}

// csvHeader names the CSV columns. color and size are attributes, which the
// default mapping ignores; they are there because real feeds have them.
var csvHeader = []string{
	"sku", "name", "description", "brand", "gtin", "price", "currency",
	"stock", "availability", "category", "url", "images", "color", "size",
}

// csvEncoder quotes through encoding/csv; several image URLs share one cell,
// separated by '|', which product.Normalize splits.
type csvEncoder struct {
	cw     *csv.Writer
	row    []string
	images []byte
}

func newCSVEncoder(w *bufio.Writer) *csvEncoder {
	// csv.NewWriter reuses w rather than stacking a second buffer on it.
	return &csvEncoder{cw: csv.NewWriter(w), row: make([]string, len(csvHeader))}
}

func (e *csvEncoder) begin() error { return e.cw.Write(csvHeader) }

func (e *csvEncoder) record(r *record) error {
	e.images = e.images[:0]
	for k, img := range r.images[:r.nimages] {
		if k > 0 {
			e.images = append(e.images, '|')
		}
		e.images = append(e.images, img...)
	}
	e.row[0] = r.sku
	e.row[1] = r.name
	e.row[2] = r.description
	e.row[3] = r.brand
	e.row[4] = r.gtin
	e.row[5] = r.price
	e.row[6] = r.currency
	e.row[7] = strconv.Itoa(r.stock)
	e.row[8] = r.availability()
	e.row[9] = r.cat.path
	e.row[10] = r.url
	e.row[11] = string(e.images)
	e.row[12] = r.color
	e.row[13] = r.size
	return e.cw.Write(e.row)
}

func (e *csvEncoder) end() error {
	e.cw.Flush() // flushes w too, which Write would do next anyway
	return e.cw.Error()
}

// jsonEncoder writes JSON Lines, or with lines false one top-level array
// streamed element by element. Keys an absent field would have are left
// out; images is an array and color and size sit under "attributes", which
// the feed reader flattens to "images" and "attributes.color".
type jsonEncoder struct {
	w     *bufio.Writer
	lines bool
	n     int
	buf   []byte
}

func (e *jsonEncoder) begin() error {
	if e.lines {
		return nil
	}
	_, err := e.w.WriteString("[")
	return err
}

func (e *jsonEncoder) record(r *record) error {
	b := e.buf[:0]
	switch {
	case e.lines:
	case e.n == 0:
		b = append(b, '\n')
	default:
		b = append(b, ",\n"...)
	}
	e.n++
	b = appendJSONField(append(b, '{'), "sku", r.sku)
	b = appendJSONField(b, "name", r.name)
	b = appendJSONField(b, "description", r.description)
	b = appendJSONField(b, "brand", r.brand)
	b = appendJSONField(b, "gtin", r.gtin)
	if r.priceIsNumber {
		b = append(append(b, `,"price":`...), r.price...)
	} else {
		b = appendJSONField(b, "price", r.price)
	}
	b = appendJSONField(b, "currency", r.currency)
	b = strconv.AppendInt(append(b, `,"stock":`...), int64(r.stock), 10)
	b = appendJSONField(b, "availability", r.availability())
	b = appendJSONField(b, "category", r.cat.path)
	b = appendJSONField(b, "url", r.url)
	b = append(b, `,"images":[`...)
	for k, img := range r.images[:r.nimages] {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, img)
	}
	b = append(b, `],"attributes":`...)
	b = appendJSONField(append(b, '{'), "color", r.color)
	b = appendJSONField(b, "size", r.size)
	b = append(b, "}}"...)
	if e.lines {
		b = append(b, '\n')
	}
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *jsonEncoder) end() error {
	if e.lines {
		return nil
	}
	trailer := "]\n"
	if e.n > 0 {
		trailer = "\n]\n"
	}
	_, err := e.w.WriteString(trailer)
	return err
}

// appendJSONField appends "key":"value", after a comma unless it opens
// an object. An empty value appends nothing: the absent field is left out.
func appendJSONField(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	if len(b) > 0 && b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(append(append(b, '"'), key...), `":`...)
	return appendJSONString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters are escaped, invalid UTF-8 becomes U+FFFD (as
// encoding/json does) and everything else is copied in runs.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(append(b, s[start:i]...), "\uFFFD"...)
				start = i + 1
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendXMLText appends s escaped for XML text and attribute values.
// Control characters other than tab and newline are not allowed in XML 1.0
// and are replaced by U+FFFD, as is invalid UTF-8. Runs of bytes that need
// nothing are copied at once: this runs for every field of every record.
func appendXMLText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		size := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '"':
			esc = "&quot;"
		case c < 0x20 && c != '\t' && c != '\n':
			esc = "\uFFFD"
		case c >= utf8.RuneSelf:
			var r rune
			if r, size = utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError && size == 1 {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			b = append(append(b, s[start:i]...), esc...)
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}
