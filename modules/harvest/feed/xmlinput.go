package feed

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// xmlInput is what encoding/xml reads an XML feed through. encoding/xml
// keeps a whole token in memory (a text node, a tag with its attributes)
// and stops at the first byte that is not UTF-8, so xmlInput stands between
// them and does three things, one byte at a time (it is an io.ByteReader, so
// the decoder reads no further ahead than it needs, and what xmlInput
// counts is what the decoder has consumed):
//
//   - bytes that are not UTF-8 become U+FFFD (in a tag, '_'), counted in
//     bad, so the record holding them can be rejected instead of the whole
//     feed failing;
//   - a run of text, attribute value or CDATA longer than maxField is cut:
//     the rest of the run is dropped, keeping the markup around it intact,
//     and counted in over, so the record can be rejected with the run's
//     size while the decoder never holds more than maxField of it;
//   - markup (a tag, a declaration) longer than maxTag is a final error,
//     since dropping part of it would change the document's structure.
//
// It also decodes the encoding named in the XML declaration, since the
// UTF-8 check must run on decoded text.
type xmlInput struct {
	src  io.Reader
	buf  []byte
	i, n int
	rerr error // the error that ended src
	err  error // a final error of xmlInput itself
	off  int64 // input bytes consumed (emitted or dropped)
	// pend holds the rest of a multi-byte rune being emitted.
	pend   [utf8.UTFMax]byte
	pi, pn int

	sniffed bool
	decoded bool // the input is already decoded; set by the XML reader
	// declared is set when xmlInput decoded the declared encoding itself.
	declared bool

	bad      int64 // invalid UTF-8 sequences replaced so far
	firstBad int64 // input offset of the most recent first bad byte after mark

	maxField, maxTag int64
	state            lexState
	quote            byte  // the quote of the attribute value being read
	run              int64 // bytes of the current run (text, value, CDATA, markup)
	tagRun           int64 // bytes of the tag around the attribute value being read
	inEntity         int   // bytes since '&' in a run, 0 outside an entity
	marks            int   // consecutive terminator bytes seen (- ] ?)
	tail             int   // consecutive terminator bytes passed on
	dropping         bool  // the rest of the current run is being dropped
	over             int64 // runs cut so far
	overSize         int64 // the largest size of a run cut since takeOver
	// decl follows a declaration (<!DOCTYPE …>) as encoding/xml does.
	decl declLexer
}

// declLexer follows a declaration by encoding/xml's rules, to find its
// end: quotes, '<' and '>' nesting outside them, and comments ("<!--"
// after a '<', to the next "-->"), in which neither counts. Both
// xmlInput and xmlSplit follow declarations with it.
//
// xmlInput once went by quotes and by '[' and ']' (a DOCTYPE's internal
// subset): a quote in a comment inside a declaration then held it in the
// quote to the end of the feed, a byte that was not UTF-8 in a tag name
// after it became U+FFFD, and the whole feed failed where its record
// should have been rejected.
type declLexer struct {
	quote   byte
	depth   int
	lt      int  // after a '<': 1 + how many bytes of "!--" followed it (0: none)
	comment bool // inside a comment
	b0, b1  byte // the comment's last two bytes (after its "<!--")
}

// lexState is where xmlInput is in the XML syntax.
type lexState uint8

const (
	lexText      lexState = iota // character data
	lexOpen                      // just after '<'
	lexTag                       // inside a start or end tag
	lexValue                     // inside a quoted attribute value
	lexBang                      // just after "<!"
	lexComment                   // inside <!-- -->
	lexCDATA                     // inside <![CDATA[ ]]>, after its header
	lexCDATAHead                 // inside "<![CDATA["
	lexPI                        // inside <? ?>
	lexDecl                      // inside <!DOCTYPE …> and the like
)

// maxEntity bounds an entity reference (&nbsp;, &#x20AC;) that a cut may
// not split.
const maxEntity = 32

func newXMLInput(r io.Reader, maxField, maxTag int64) *xmlInput {
	return &xmlInput{src: r, maxField: maxField, maxTag: maxTag, firstBad: -1}
}

// xmlInputBuf is the size of xmlInput's buffer.
const xmlInputBuf = 32 << 10

// errMarkupTooLong is xmlInput's final error for markup longer than maxTag.
var errMarkupTooLong = errors.New("markup too long")

// Read makes xmlInput an io.Reader, which encoding/xml also requires.
func (x *xmlInput) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := x.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = b
		n++
		if x.i >= x.n && x.pi >= x.pn {
			break // do not block for more input than is at hand
		}
	}
	return n, nil
}

// fill reads more input, keeping the unread bytes. It returns false at the
// end of the input.
func (x *xmlInput) fill() bool {
	if x.buf == nil {
		// Made on first use: finishSlow's reader, for one record, sizes
		// its own.
		x.buf = make([]byte, 0, xmlInputBuf)
	}
	if x.rerr != nil {
		return false
	}
	if x.i > 0 {
		x.n = copy(x.buf[:cap(x.buf)], x.buf[x.i:x.n])
		x.i = 0
	}
	x.buf = x.buf[:cap(x.buf)]
	for tries := 0; x.n < len(x.buf) && tries < 100; tries++ {
		m, err := x.src.Read(x.buf[x.n:])
		x.n += m
		if err != nil {
			x.rerr = err
			break
		}
		if m > 0 && (x.sniffed || x.n >= sniffLen) {
			break
		}
	}
	if !x.sniffed {
		x.sniffed = true
		x.sniff()
	}
	return x.i < x.n
}

// xmlDeclEncoding finds the encoding in an XML declaration.
var xmlDeclEncoding = regexp.MustCompile(`^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// sniff decodes the input from the encoding its XML declaration names,
// unless it is UTF-8 or already decoded. A label it does not know is left to
// encoding/xml, which then reports it.
func (x *xmlInput) sniff() {
	if x.decoded {
		return
	}
	m := xmlDeclEncoding.FindSubmatch(x.buf[x.i:min(x.n, sniffLen)])
	if m == nil {
		return
	}
	enc, err := htmlindex.Get(string(m[1]))
	if err != nil || enc == unicode.UTF8 {
		return
	}
	rest := bytes.Clone(x.buf[x.i:x.n])
	src := x.src
	if x.rerr != nil {
		src = eofReader{x.rerr}
	}
	x.src = decoded(enc, io.MultiReader(bytes.NewReader(rest), src))
	x.i, x.n, x.rerr = 0, 0, nil
	x.declared = true
	x.fill()
}

// eofReader returns err on every read.
type eofReader struct{ err error }

func (e eofReader) Read([]byte) (int, error) { return 0, e.err }

// ReadByte returns the next byte for encoding/xml.
func (x *xmlInput) ReadByte() (byte, error) {
	// The fast path: ASCII text that changes no state of the lexer.
	if x.pi >= x.pn && x.i < x.n && x.err == nil {
		if c := x.buf[x.i]; c < utf8.RuneSelf && !x.dropping && x.inEntity == 0 && x.run < x.maxField &&
			(x.state == lexText && c != '<' && c != '&' || x.state == lexTag && c != '"' && c != '\'' && c != '>') {
			x.run++
			x.i++
			x.off++
			return c, nil
		}
	}
	return x.readByte()
}

// readByte is ReadByte's slow path.
func (x *xmlInput) readByte() (byte, error) {
	for {
		if x.pi < x.pn {
			b := x.pend[x.pi]
			x.pi++
			return b, nil
		}
		if x.err != nil {
			return 0, x.err
		}
		if x.i >= x.n && !x.fill() {
			return 0, x.rerr
		}
		c := x.buf[x.i]
		size := 1
		if c >= utf8.RuneSelf {
			if x.n-x.i < utf8.UTFMax && x.rerr == nil {
				x.fill()
			}
			var r rune
			if r, size = utf8.DecodeRune(x.buf[x.i:x.n]); r == utf8.RuneError && size == 1 {
				if x.firstBad < 0 {
					x.firstBad = x.off
				}
				x.bad++
				x.i++
				x.off++
				inName := x.state == lexOpen || x.state == lexTag
				if x.step('_', 3) == actEmit { // '_': a byte no state of the lexer treats specially
					x.pend = [utf8.UTFMax]byte{0xEF, 0xBF, 0xBD}
					x.pi, x.pn = 0, 3
					if inName {
						// U+FFFD is no name character: encoding/xml would
						// fail the whole feed. The record is rejected all
						// the same, since bad counts it.
						x.pend[0], x.pn = '_', 1
					}
				}
				continue
			}
		}
		act := x.step(c, int64(size))
		if act == actEmit && size > 1 {
			x.pi, x.pn = 1, copy(x.pend[:], x.buf[x.i:x.i+size])
		}
		x.i += size
		x.off += int64(size)
		if act == actEmit {
			return c, nil
		}
	}
}

// action is what ReadByte does with a rune after step.
type action uint8

const (
	actEmit action = iota // pass it on
	actDrop               // drop it
	actDone               // drop it: step queued the bytes to pass on in pend
)

// step advances the lexer over the rune starting with byte c and size
// bytes long, and says what to do with it.
func (x *xmlInput) step(c byte, size int64) action {
	switch x.state {
	case lexText:
		if c == '<' {
			x.endRun()
			x.state, x.run = lexOpen, 1
			return actEmit
		}
		return x.content(c, size)
	case lexOpen:
		switch c {
		case '!':
			x.state = lexBang
		case '?':
			x.state, x.marks = lexPI, 0
		default:
			x.state = lexTag
		}
		return x.markup(size)
	case lexTag:
		switch c {
		case '"', '\'':
			x.state, x.quote = lexValue, c
			act := x.markup(size)
			x.tagRun = x.run
			x.startRun()
			return act
		case '>':
			x.state = lexText
			x.startRun()
			return actEmit
		}
		return x.markup(size)
	case lexValue:
		if c == x.quote {
			x.endRun()
			// The tag's length counts what was kept of the value.
			x.state, x.quote, x.run = lexTag, 0, x.tagRun+min(x.run, x.maxField)
			return x.markup(size)
		}
		return x.content(c, size)
	case lexBang:
		switch c {
		case '-':
			x.state = lexComment
			act := x.markup(size)
			x.startRun()
			x.marks = -1 // the second '-' of "<!--" starts no terminator
			return act
		case '[':
			x.state = lexCDATAHead
		default:
			// The byte after "<!" is the declaration's, whatever it is.
			x.state, x.decl = lexDecl, declLexer{}
		}
		return x.markup(size)
	case lexCDATAHead:
		if c == '[' {
			x.state = lexCDATA
			act := x.markup(size)
			x.startRun()
			return act
		}
		return x.markup(size)
	case lexComment:
		if x.marks < 0 { // the second '-' of "<!--"
			x.marks = 0
			return x.markup(size)
		}
		return x.terminated(c, size, '-', false)
	case lexCDATA:
		return x.terminated(c, size, ']', true)
	case lexPI:
		if c == '>' && x.marks > 0 {
			x.state = lexText
			x.startRun()
			return actEmit
		}
		x.marks = 0
		if c == '?' {
			x.marks = 1
		}
		return x.markup(size)
	case lexDecl:
		// A DOCTYPE's internal subset holds '>' of its own declarations;
		// encoding/xml parses them, and xmlInput only bounds the length.
		if x.decl.step(c) {
			x.state = lexText
			x.startRun()
			return actEmit
		}
		return x.markup(size)
	}
	return actEmit
}

// step follows byte c of a declaration (any byte of a multi-byte rune
// stands for it: none of them is special) and reports whether it ends it.
func (d *declLexer) step(c byte) bool {
	switch {
	case d.comment:
		if d.b0 == '-' && d.b1 == '-' && c == '>' {
			d.comment = false
			return false
		}
		d.b0, d.b1 = d.b1, c
		return false
	case d.lt > 0:
		if c == "!--"[d.lt-1] {
			if d.lt++; d.lt == 4 {
				d.lt, d.comment, d.b0, d.b1 = 0, true, 0, 0
			}
			return false
		}
		// Not a comment: a nested '<', and c is taken as any byte but
		// for ending the declaration.
		d.lt = 0
		d.depth++
		d.nest(c)
		return false
	case d.quote == 0 && c == '>' && d.depth == 0:
		return true
	}
	d.nest(c)
	return false
}

// nest follows a byte that does not end the declaration.
func (d *declLexer) nest(c byte) {
	switch {
	case d.quote != 0:
		if c == d.quote {
			d.quote = 0
		}
	case c == '"' || c == '\'':
		d.quote = c
	case c == '>':
		d.depth--
	case c == '<':
		d.lt = 1
	}
}

// markup counts bytes of markup against maxTag.
func (x *xmlInput) markup(size int64) action {
	x.run += size
	if x.run > x.maxTag && x.err == nil {
		x.err = errMarkupTooLong
	}
	return actEmit
}

// startRun starts a run of content.
func (x *xmlInput) startRun() { x.run, x.inEntity, x.tail, x.marks, x.dropping = 0, 0, 0, 0, false }

// endRun ends a run of content, recording its size if it was cut.
func (x *xmlInput) endRun() {
	if x.dropping {
		x.over++
		x.overSize = max(x.overSize, x.run)
	}
	x.dropping = false
}

// content counts a rune of text or of an attribute value and says whether
// it is dropped. A cut never splits an entity reference, which would turn
// a legal document into a broken one.
func (x *xmlInput) content(c byte, size int64) action {
	x.run += size
	if x.dropping {
		return actDrop
	}
	switch {
	case c == '&':
		x.inEntity = 1
	case x.inEntity > 0 && (c == ';' || x.inEntity >= maxEntity):
		x.inEntity = 0
		return actEmit // the end of an entity, which a cut must not split
	case x.inEntity > 0:
		x.inEntity++
	}
	if x.inEntity == 0 && x.run > x.maxField {
		x.dropping = true
		return actDrop
	}
	return actEmit
}

// terminated handles a rune of a comment or CDATA section (cdata), which
// end at "-->" and "]]>" (mark is '-' or ']'). A cut keeps the terminator:
// tail counts the marks at the end of what was passed on, so that exactly
// two precede the '>'.
func (x *xmlInput) terminated(c byte, size int64, mark byte, cdata bool) action {
	if c == '>' && x.marks >= 2 {
		dropping, tail := x.dropping, x.tail
		if cdata {
			x.endRun()
		}
		x.state = lexText
		x.startRun()
		if !dropping {
			return actEmit
		}
		x.pi, x.pn = 0, 0
		for ; tail < 2; tail++ {
			x.pend[x.pn] = mark
			x.pn++
		}
		x.pend[x.pn] = '>'
		x.pn++
		return actDone
	}
	if c == mark {
		x.marks++
	} else {
		x.marks = 0
	}
	x.run += size
	if !x.dropping && x.run > x.maxField {
		x.dropping = true
	}
	if x.dropping {
		return actDrop
	}
	if c == mark {
		x.tail++
	} else {
		x.tail = 0
	}
	return actEmit
}

// takeOver returns how many runs were cut and the largest size among them
// since the last call, and resets the size.
func (x *xmlInput) takeOver() (n, size int64) {
	n, size = x.over, x.overSize
	x.over, x.overSize = 0, 0
	return n, size
}

// takeBad returns the number of invalid UTF-8 sequences since the last call
// and the input offset of the first, and resets both.
func (x *xmlInput) takeBad() (n, first int64) {
	n, first = x.bad, x.firstBad
	x.bad, x.firstBad = 0, -1
	return n, first
}
