package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// xmlSplit makes an XML reader a Splitter. It reads the feed ahead of
// encoding/xml and cuts the text of each record out of it, leaving in its
// place an empty element of the same name that holds the record's line
// breaks: encoding/xml reads that skeleton (on the reading goroutine, so
// everything outside records, and so the document's structure, is
// checked as before, and line numbers stay right), and each record's text
// is parsed by Finish on the normalising goroutines, by xmlFast, at a
// tenth of encoding/xml's cost.
//
// The cut only follows XML's lexical structure (tags, quoted values,
// comments, CDATA sections) to find where a record ends; Finish checks the
// record whole, as encoding/xml would. What the cut is not sure of goes to
// the skeleton as it is, for encoding/xml to read there as before: a
// record over Options.MaxRecordBytes, one holding a processing instruction
// or a declaration, one the feed ends inside, and every record of a feed
// whose XML declaration names an encoding htmlindex does not know
// (encoding/xml reports it). A feed in another encoding is decoded first
// (decodeDeclared).
type xmlSplit struct {
	src io.Reader
	buf []byte
	// lent: the texts of records cut out share buf's bytes (cut), which
	// are then never written again: fill moves on to a new array.
	lent    bool
	i, n    int   // buf[i:n] is not yet lexed
	mark    int   // buf[mark:i] is lexed but not yet passed on
	base    int64 // the input offset of buf[0]
	rerr    error
	started bool
	through bool // pass everything to the skeleton
	decoded bool
	// yml: a category after the first record turns through on, so that
	// every offer cut out follows every category before it (ymlState).
	yml       bool
	cuts      int // records begun
	record    string
	path      []string
	maxDepth  int
	maxRecord int64

	skel []byte // skeleton not yet read: skel[sk:]
	sk   int
	out  int64 // skeleton bytes made so far

	state splitState
	quote byte
	// marks counts the terminator bytes seen: '-' of "-->", ']' of "]]>",
	// '?' of "?>".
	marks  int
	decl   declLexer // a declaration's (<!DOCTYPE …>), as xmlInput follows it
	name   []byte    // the start tag's name, while it is read
	slash  bool      // the tag's last byte was '/'
	endTag bool

	outer []string // local names of the open elements outside records
	deep  int      // open elements outside records past maxDepth

	inRec    bool // a record is being cut
	verbatim bool // ... into the skeleton, as it is
	depth    int  // the record's open elements
	rec      []byte
	recAt    int64
	recName  string

	in     *xmlInput     // what encoding/xml reads the skeleton through
	spare  [][]cutRecord // arrays for splitRecord.recs, emptied (recycle)
	queue  []splitRecord
	queued int // bytes of text in queue
	// joinAt is where in skel the element of the last splitRecord of queue
	// starts, while the records after it may join it (-1: none may).
	joinAt int
}

// splitRecord is a run of records cut out of the skeleton, with only
// white space between them, left as one element; end is the skeleton
// offset just after that element.
type splitRecord struct {
	end  int64
	nl   int // line breaks from the first record's start to the last's end
	size int // the element left in their place
	span int64
	recs []cutRecord
}

// cutRecord is one record of a splitRecord: its text, where it starts in
// the feed, and the line breaks before it from the first record's start.
type cutRecord struct {
	text string
	off  int64
	nl   int
}

type splitState uint8

const (
	splitText    splitState = iota
	splitOpen               // after '<'
	splitName               // a start tag's name
	splitTag                // the rest of a start or end tag
	splitValue              // a quoted attribute value
	splitBang               // after "<!"
	splitComment            // after "<!-"
	splitCDATA              // after "<!["
	splitPI                 // after "<?"
	splitDecl               // after "<!" and another byte
)

// maxSplitName bounds the name the cut keeps of a start tag outside
// records: a longer one is no record's.
const maxSplitName = 256

// maxQueued bounds the text of the records cut and not yet taken.
const maxQueued = 256 << 10

func newXMLSplit(r io.Reader, record string, path []string, opts Options, decoded bool) *xmlSplit {
	return &xmlSplit{src: r, buf: make([]byte, 64<<10), record: record, path: path, decoded: decoded,
		maxDepth: opts.depthLimit(), maxRecord: opts.recordLimit(), joinAt: -1}
}

// Read gives encoding/xml the skeleton.
func (s *xmlSplit) Read(p []byte) (int, error) {
	for s.sk >= len(s.skel) {
		s.skel, s.sk = s.skel[:0], 0
		if s.i >= s.n && s.rerr != nil {
			// The end: a record cut short goes to encoding/xml, which
			// says where the document ends.
			s.giveUp()
			s.flush(s.n)
			if len(s.skel) == 0 {
				return 0, s.rerr
			}
			break
		}
		s.scan()
	}
	n := copy(p, s.skel[s.sk:])
	s.sk += n
	s.joinAt = -1 // encoding/xml may have read it
	return n, nil
}

// emit adds b to the skeleton.
func (s *xmlSplit) emit(b []byte) {
	s.skel = append(s.skel, b...)
	s.out += int64(len(b))
}

// fill reads more input, keeping buf[mark:n]. It returns false at the end
// of the input.
func (s *xmlSplit) fill() bool {
	if s.rerr != nil {
		return false
	}
	// The lexed bytes go (the unlexed tail moves to the front), except
	// from a lent buffer with a quarter of it still free: it is read on
	// into. A source that returns a few KiB a call (a decoder, a network)
	// would otherwise cost a new 64 KiB array for each.
	if s.mark > 0 && (!s.lent || len(s.buf)-s.n < len(s.buf)/4) {
		s.base += int64(s.mark)
		to := s.buf
		if s.lent {
			to, s.lent = make([]byte, len(s.buf)), false
		}
		s.n = copy(to, s.buf[s.mark:s.n])
		s.buf = to
		s.i -= s.mark
		s.mark = 0
	}
	s.read()
	if !s.started {
		if !s.decoded && s.decodeDeclared() {
			s.read()
		}
		s.started = true
		s.through = !s.decoded && !declaresUTF8(s.buf[:min(s.n, sniffLen)])
		if !s.through && s.in != nil {
			// Nothing for xmlInput to decode: it need not read sniffLen
			// bytes of skeleton first, for which it would call Read
			// again and again, each cutting a record out (up to 100
			// records, of up to MaxRecordBytes, held at once).
			s.in.sniffed = true
		}
	}
	return s.i < s.n
}

// read reads into buf[n:]: until it holds sniffLen bytes before the
// start, some bytes after it, or the input ends.
func (s *xmlSplit) read() {
	for tries := 0; s.n < len(s.buf) && tries < 100; tries++ {
		m, err := s.src.Read(s.buf[s.n:])
		s.n += m
		if err != nil {
			s.rerr = err
			break
		}
		if m > 0 && (s.started || s.n >= sniffLen) {
			break
		}
	}
}

// decodeDeclared decodes the input from the encoding its XML declaration
// names, as xmlInput would after it (the same bytes, through the same
// decoder): the records are then cut from UTF-8 text, and xmlInput and
// encoding/xml read a skeleton decoded already. Before, a feed declaring
// windows-1251 (common for YML) went to encoding/xml whole, at about four
// times the cost of a split one. A label htmlindex does not know is left
// to encoding/xml, which reports it. It reports whether it decodes: buf is
// then empty, to be read again.
func (s *xmlSplit) decodeDeclared() bool {
	m := xmlDeclEncoding.FindSubmatch(s.buf[:min(s.n, sniffLen)])
	if m == nil {
		return false
	}
	enc, err := htmlindex.Get(string(m[1]))
	if err != nil || enc == unicode.UTF8 {
		return false
	}
	src := s.src
	if s.rerr != nil {
		src = eofReader{s.rerr}
	}
	s.src = decoded(enc, io.MultiReader(bytes.NewReader(bytes.Clone(s.buf[:s.n])), src))
	s.n, s.rerr = 0, nil
	s.decoded = true
	if s.in != nil {
		s.in.declared = true // xmlInput decodes nothing, nor does encoding/xml's CharsetReader
	}
	return true
}

// switchesEncoding reports whether b, what follows a "<?" outside records,
// may be an XML declaration that makes encoding/xml read on through a
// decoder: wherever it stands, a <?xml …?> whose encoding (as procInst
// finds it) is not UTF-8 by any name. (A declaration that xmlSplit
// decoded by, or read past the start, is left alone: see charsetReader.)
// A declaration cut short by the end of b may be one.
func switchesEncoding(b []byte) bool {
	if len(b) < 4 {
		return bytes.HasPrefix([]byte("xml"), b)
	}
	if !bytes.HasPrefix(b, []byte("xml")) || isNameByte(b[3]) || b[3] >= utf8.RuneSelf {
		return false // another target
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return true
	}
	enc := procInstParam("encoding", string(b[3:end]))
	if enc == "" || strings.EqualFold(enc, "utf-8") {
		return false
	}
	e, err := htmlindex.Get(enc)
	return err != nil || e != unicode.UTF8
}

// procInstParam returns the value of param="…" or param='…' in a
// processing instruction's content s, as encoding/xml's procInst finds
// it: the first "param=" followed by a quote, up to the same quote.
func procInstParam(param, s string) string {
	key := param + "="
	for i := 0; i < len(s); {
		k := strings.Index(s[i:], key)
		if k < 0 || i+k+len(key) >= len(s) {
			return ""
		}
		i += k + len(key)
		if q := s[i]; q == '"' || q == '\'' {
			j := strings.IndexByte(s[i+1:], q)
			if j < 0 {
				return ""
			}
			return s[i+1 : i+1+j]
		}
		i++
	}
	return ""
}

// declaresUTF8 reports whether the XML declaration at the start of head,
// if any, leaves the document in UTF-8.
func declaresUTF8(head []byte) bool {
	m := xmlDeclEncoding.FindSubmatch(head)
	if m == nil {
		return true
	}
	enc, err := htmlindex.Get(string(m[1]))
	return err == nil && enc == unicode.UTF8
}

// flush passes buf[mark:to] on: to the record being cut, or the skeleton.
func (s *xmlSplit) flush(to int) {
	if to <= s.mark {
		return
	}
	if s.inRec && !s.verbatim {
		s.rec = append(s.rec, s.buf[s.mark:to]...)
		if int64(len(s.rec)) > s.maxRecord {
			s.giveUp()
		}
	} else {
		s.emit(s.buf[s.mark:to])
	}
	s.mark = to
}

// giveUp leaves the record being cut to encoding/xml: what was cut of it
// goes to the skeleton, and so does the rest.
func (s *xmlSplit) giveUp() {
	if s.inRec && !s.verbatim {
		s.emit(s.rec)
		s.verbatim = true
		if cap(s.rec) > 4<<20 {
			s.rec = nil
		}
		s.rec = s.rec[:0]
	}
}

// scan lexes what is in buf, reading more first if it is all lexed, until
// its end or until the records cut hold maxQueued bytes.
func (s *xmlSplit) scan() {
	if s.i >= s.n && !s.fill() {
		return
	}
	if s.through {
		s.i = s.n
		s.flush(s.n)
		return
	}
	for s.i < s.n && (s.queued < maxQueued || len(s.skel) == 0) && !s.through {
		if s.inRec && !s.verbatim && s.state == splitText && s.inside() {
			continue
		}
		s.step()
	}
	if s.through {
		s.i = s.n
		s.flush(s.n)
		return
	}
	// Pass on what is lexed, unless it may yet turn out to be a record's.
	if s.state != splitOpen && s.state != splitName || s.inRec {
		s.flush(s.i)
	}
}

// step lexes from buf[i], at least one byte.
func (s *xmlSplit) step() {
	b := s.buf[s.i:s.n]
	switch s.state {
	case splitText:
		j := bytes.IndexByte(b, '<')
		if j < 0 {
			s.i = s.n
			return
		}
		s.i += j
		if !s.inRec {
			s.flush(s.i) // a tag starts: it may be a record's
		}
		s.i++
		s.state = splitOpen
	case splitOpen:
		s.slash, s.endTag = false, false
		switch c := b[0]; c {
		case '/':
			s.endTag = true
			s.state = splitTag
			s.i++
		case '!':
			s.state = splitBang
			s.i++
		case '?':
			s.state, s.marks = splitPI, 0
			if s.inRec {
				s.giveUp()
			} else if !s.decoded && switchesEncoding(b[1:]) {
				// encoding/xml reads the rest through a decoder, which
				// reads ahead: nothing after it may be cut out.
				s.through = true
			}
			s.i++
		default:
			s.state = splitName
			s.name = s.name[:0]
		}
	case splitName:
		j := 0
		for j < len(b) && (isNameByte(b[j]) || b[j] >= 0x80) {
			j++
		}
		if len(s.name) < maxSplitName && !s.inRec {
			s.name = append(s.name, b[:min(j, maxSplitName-len(s.name))]...)
		}
		s.i += j
		if j == len(b) {
			if len(s.name) >= maxSplitName {
				s.state = splitTag // no record's name: pass it on
				s.flush(s.i)
			}
			return
		}
		s.state = splitTag
		switch {
		case s.inRec:
		case s.isRecord():
			s.inRec, s.verbatim, s.depth = true, false, 0
			s.recAt = s.base + int64(s.mark)
			if string(s.name) != s.recName { // the same as the last record's, as a rule
				s.recName = string(s.name)
			}
			s.rec = s.rec[:0]
			s.cuts++
		case s.yml && s.cuts > 0 && string(localName(s.name)) == "category":
			s.through = true
		}
	case splitTag:
		for j, c := range b {
			switch c {
			case '"', '\'':
				s.i += j + 1
				s.state, s.quote, s.slash = splitValue, c, false
				return
			case '>':
				s.i += j + 1
				s.state = splitText
				s.tagEnd()
				return
			}
			s.slash = c == '/'
		}
		s.i = s.n
	case splitValue:
		j := bytes.IndexByte(b, s.quote)
		if j < 0 {
			s.i = s.n
			return
		}
		s.i += j + 1
		s.state = splitTag
	case splitBang:
		switch b[0] {
		case '-':
			s.state, s.marks = splitComment, -1 // the second '-' of "<!--"
		case '[':
			s.state, s.marks = splitCDATA, 0
		default:
			// encoding/xml keeps the byte after "<!" of a declaration
			// without looking at it: so does the cut.
			s.state, s.decl = splitDecl, declLexer{}
			if s.inRec {
				s.giveUp()
			}
		}
		s.i++
	case splitComment, splitCDATA, splitPI:
		s.terminated(b)
	case splitDecl:
		s.declaration(b)
	}
}

// inside lexes a record's text from buf[i], in text, the way step would
// but in one loop, for as long as it holds tags without quotes and nothing
// but tags: it returns false at anything else, or at the end of buf, with
// buf[i] the '<' where step takes over.
func (s *xmlSplit) inside() bool {
	for {
		b := s.buf[s.i:s.n]
		j := bytes.IndexByte(b, '<')
		if j < 0 {
			s.i = s.n
			return true
		}
		tag := b[j+1:]
		k := 0 // tags are short: a loop beats three IndexByte calls
		for k < len(tag) && tag[k] != '>' && tag[k] != '"' && tag[k] != '\'' {
			k++
		}
		if k < 1 || k == len(tag) || tag[k] != '>' || tag[0] == '!' || tag[0] == '?' {
			s.i += j
			return false
		}
		s.i += j + 1 + k + 1
		switch {
		case tag[0] == '/':
			s.depth--
		case tag[k-1] != '/':
			s.depth++
		}
		if s.depth <= 0 {
			s.cut()
			return true
		}
	}
}

// terminated lexes a comment, a CDATA section or a processing
// instruction, up to "-->", "]]>" or "?>".
func (s *xmlSplit) terminated(b []byte) {
	mark, need := byte('-'), 2
	switch s.state {
	case splitCDATA:
		mark = ']'
	case splitPI:
		mark, need = '?', 1
	}
	for j := 0; j < len(b); j++ {
		c := b[j]
		switch {
		case s.marks < 0:
			s.marks = 0
		case c == '>' && s.marks >= need:
			s.i += j + 1
			s.state = splitText
			return
		case c == mark:
			s.marks++
		default:
			// Nothing before the next mark can end this.
			s.marks = 0
			k := bytes.IndexByte(b[j+1:], mark)
			if k < 0 {
				s.i = s.n
				return
			}
			j += k
		}
	}
	s.i = s.n
}

// declaration lexes a declaration (<!DOCTYPE …>) as encoding/xml does,
// by the rules xmlInput follows it by (declLexer).
func (s *xmlSplit) declaration(b []byte) {
	for j, c := range b {
		if s.decl.step(c) {
			s.i += j + 1
			s.state = splitText
			return
		}
	}
	s.i = s.n
}

// isRecord reports whether the start tag named s.name, outside records,
// opens a record: the same test as xmlReader.isRecord.
func (s *xmlSplit) isRecord() bool {
	if len(s.name) >= maxSplitName || string(localName(s.name)) != s.record {
		return false
	}
	if s.yml && slices.Contains(s.outer, "category") {
		return false // readCategory reads what is in a category
	}
	return s.path == nil || s.deep == 0 && len(s.outer) == len(s.path)-1 && slices.Equal(s.outer, s.path[:len(s.path)-1])
}

// localName is the local part of a tag's name, as encoding/xml splits it:
// a part of name. (Compared as string(localName(…)) == s, it costs no
// allocation: a string of it cost one a tag.)
func localName(name []byte) []byte {
	if bytes.Count(name, []byte(":")) != 1 {
		return name
	}
	prefix, local, _ := bytes.Cut(name, []byte(":"))
	if len(prefix) == 0 || len(local) == 0 {
		return name
	}
	return local
}

// tagEnd follows the nesting at the end of a tag.
func (s *xmlSplit) tagEnd() {
	if s.inRec {
		switch {
		case s.endTag:
			s.depth--
		case !s.slash:
			s.depth++
		}
		if s.depth <= 0 {
			s.cut()
		}
		return
	}
	switch {
	case s.endTag && s.deep > 0:
		s.deep--
	case s.endTag && len(s.outer) > 0:
		s.outer = s.outer[:len(s.outer)-1]
	case s.endTag, s.slash:
	case len(s.outer) > s.maxDepth:
		s.deep++
	default:
		s.outer = append(s.outer, string(localName(s.name)))
	}
}

// cut ends the record being cut at buf[i].
func (s *xmlSplit) cut() {
	var text string
	if !s.verbatim && len(s.rec) == 0 && int64(s.i-s.mark) <= s.maxRecord {
		// The record is all in buf: its text shares buf's bytes, which
		// stay as they are (lent). A copy of each record (an allocation
		// each) was a third of what the reading goroutine of an XML
		// re-harvest did.
		text = unsafe.String(&s.buf[s.mark], s.i-s.mark)
		s.lent = true
		s.mark = s.i
	} else {
		s.flush(s.i)
		text = string(s.rec)
	}
	s.inRec = false
	if s.verbatim {
		return
	}
	nl := strings.Count(text, "\n")
	rec := cutRecord{text: text, off: s.recAt}
	s.queued += len(text)
	// A record after another with only white space between joins its
	// element: encoding/xml then reads one element for the run, where
	// one per record was half of what the reading goroutine did.
	if s.joinAt >= 0 {
		last := &s.queue[len(s.queue)-1]
		between := s.skel[s.joinAt+last.size:]
		more := bytes.Count(between, []byte("\n"))
		// xmlInput bounds a tag by MaxRecordBytes: so is the element.
		if int64(last.size+more+nl) <= s.maxRecord && string(last.name(s.skel[s.joinAt:])) == s.recName &&
			len(bytes.Trim(between, " \t\r\n")) == 0 {
			rec.nl = last.nl + more
			last.recs = append(last.recs, rec)
			last.span = rec.off + int64(len(text)) - last.recs[0].off
			// The element loses "/>" and the white space after it, and
			// gains the line breaks of both.
			s.out -= int64(len(s.skel) - (s.joinAt + last.size - 2))
			s.skel = s.skel[:s.joinAt+last.size-2]
			more += nl
			for range more {
				s.skel = append(s.skel, '\n')
			}
			s.skel = append(s.skel, '/', '>')
			s.out += int64(more + 2)
			last.nl += more
			last.size += more
			last.end = s.out
			return
		}
	}
	s.joinAt = len(s.skel)
	size := s.element(nl)
	var recs []cutRecord
	if n := len(s.spare); n > 0 {
		recs, s.spare = s.spare[n-1], s.spare[:n-1]
	}
	s.queue = append(s.queue, splitRecord{end: s.out, nl: nl, size: size, span: int64(len(text)), recs: append(recs, rec)})
}

// element adds to the skeleton the empty element that stands for records
// holding nl line breaks, and returns its size.
func (s *xmlSplit) element(nl int) int {
	from := len(s.skel)
	s.skel = append(s.skel, '<')
	s.skel = append(s.skel, s.recName...)
	for range nl {
		s.skel = append(s.skel, '\n')
	}
	s.skel = append(s.skel, '/', '>')
	size := len(s.skel) - from
	s.out += int64(size)
	return size
}

// name is the name of the element at the start of b, which stands for r.
func (r *splitRecord) name(b []byte) []byte { return b[1 : r.size-2-r.nl] }

// take returns the record cut out where the skeleton's element that ends
// at offset end stands, if one was.
func (s *xmlSplit) take(end int64) (splitRecord, bool) {
	if len(s.queue) == 0 || s.queue[0].end != end {
		return splitRecord{}, false
	}
	r := s.queue[0]
	s.queue[0] = splitRecord{}
	s.queue = s.queue[1:]
	for _, rec := range r.recs {
		s.queued -= len(rec.text)
	}
	if len(s.queue) == 0 {
		s.joinAt = -1
	}
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0]
	}
	return r, true
}

// maxCutBuf bounds the records of one element whose array a reader keeps
// for the next (a run of a thousand records is one element); spares
// bounds how many such arrays the split keeps.
const (
	maxCutBuf = 1024
	spares    = 8
)

// recycle takes back the array of a splitRecord's recs, once read.
func (s *xmlSplit) recycle(recs []cutRecord) {
	if cap(recs) > maxCutBuf || len(s.spare) >= spares {
		return
	}
	clear(recs)
	s.spare = append(s.spare, recs[:0])
}

// missed reports whether encoding/xml read past a record's element
// without taking it: the cut and encoding/xml disagree on what is a
// record, so the document is not what it seems.
func (s *xmlSplit) missed(off int64) bool {
	return len(s.queue) > 0 && s.queue[0].end <= off
}

// errSplit is the final error of a document the cut and encoding/xml read
// differently.
var errSplit = errors.New("an element the reader took for a record is not one (broken XML?)")

// finishSlow reads a record that xmlFast leaves to encoding/xml, with a
// reader of its own, as if it stood where it does in the feed: its
// messages give the feed's lines and offsets and the record's row.
func (x *xmlReader) finishSlow(raw RawRecord) (Record, error) {
	var y *ymlState
	if x.yml != nil {
		y = newYMLState()
		if raw.cats != nil {
			y.cats, y.shared = raw.cats.cats, true
		}
	}
	r := newXMLReader(strings.NewReader(raw.text), x.opts, true, x.record, nil, y)
	r.in.buf = make([]byte, 0, min(xmlInputBuf, len(raw.text)+1))
	r.row, r.shift, r.lines = raw.Row-1, raw.off, max(raw.line-1, 0)
	done, err := r.nextRaw()
	if _, bad := errors.AsType[*RecordError](err); err != nil && !bad {
		if errors.Is(err, io.EOF) {
			err = malformed(x.op, recordAt(raw.Row), errSplit.Error())
		}
		return Record{}, err
	}
	if r.in.off != int64(len(raw.text)) {
		return Record{}, malformed(x.op, recordAt(raw.Row), fmt.Sprintf("line %d: %s", raw.line, errSplit))
	}
	if err != nil {
		return Record{}, err
	}
	return *done.done, nil
}

// newXMLSplitReader returns an XML reader that is a Splitter (see
// xmlSplit); yml is a YML reader's.
func newXMLSplitReader(r io.Reader, opts Options, decoded bool, record string, path []string, yml *ymlState) *xmlReader {
	split := newXMLSplit(r, record, path, opts, decoded)
	split.yml = yml != nil
	x := newXMLReader(split, opts, decoded, record, path, yml)
	x.split, split.in = split, x.in
	x.rawContext = xxhash.Sum64(fmt.Appendf(nil, "%s\x00%q %q %t %q %q %q %q %d %d %d", xmlFinishVersion,
		record, opts.Format, yml != nil, opts.RecordElement, opts.RecordPath, opts.Encoding, string(opts.Delimiter),
		opts.MaxFieldBytes, opts.MaxRecordBytes, opts.MaxDepth))
	return x
}

// xmlFinishVersion names the rules by which Finish makes a record's Fields
// of its text (xmlFast, finishSlow's encoding/xml with HTML entities, the
// YML rules and categoryPath). Keys of records read by other rules must
// not match (RawKeyer): bump it with any change to what Finish returns for
// some text. TestFinishVersions holds it to a digest of what Finish
// returns for the test feeds' records.
const xmlFinishVersion = "feed/xml/finish/1"

// RawKey returns a cut record's text and the digest of the rest Finish
// reads: the reader's options, xmlFinishVersion and a YML feed's category
// tree. A record read whole has none. See RawKeyer.
func (x *xmlReader) RawKey(raw RawRecord) (string, uint64, bool) {
	if raw.done != nil {
		return "", 0, false
	}
	context := x.rawContext
	if raw.cats != nil {
		context ^= bits.RotateLeft64(raw.cats.digest*0x9e3779b97f4a7c15, 29)
	}
	return raw.text, context, true
}

var _ RawKeyer = (*xmlReader)(nil)

// Next returns the next record element.
func (x *xmlReader) Next() (Record, error) {
	raw, err := x.NextRaw()
	if err != nil {
		return Record{}, err
	}
	rec, err := x.Finish(raw, &x.fin)
	if _, bad := errors.AsType[*RecordError](err); err != nil && !bad {
		x.err = err
	}
	if raw.done == nil {
		rec.Fields = slices.Clone(rec.Fields) // Next's records are the caller's
	}
	return rec, err
}

// NextRaw returns the next record: the text of one the skeleton's reader
// left for Finish, or one it read itself; see Splitter.
func (x *xmlReader) NextRaw() (RawRecord, error) { return x.nextRaw() }

// Finish reads a record of NextRaw, with xmlFast or else with
// encoding/xml; see Splitter. Its Fields live in f.
func (x *xmlReader) Finish(raw RawRecord, f *Finisher) (Record, error) {
	if raw.done != nil {
		return *raw.done, nil
	}
	if f == nil {
		panic("feed: Finish with a nil Finisher")
	}
	if f.xml == nil {
		f.xml = new(xmlFast)
	}
	p := f.xml
	p.maxField, p.maxDepth, p.yml = x.maxField, x.maxDepth, x.yml != nil
	if cap(p.fields) > keptFields {
		p.fields = nil // a very wide record's Fields are not kept for the rest of the feed
	}
	// Raw is an excerpt of the record as the feed has it: unlike
	// encoding/xml, the cut keeps the text, and the excerpt is free.
	if fields, ok := p.parse(raw.text, x.record); ok {
		if raw.cats != nil {
			if f.tree != raw.cats {
				f.tree = raw.cats
				f.paths.reset()
			}
			fields = categoryPath(fields, raw.cats.cats, &f.paths)
			p.fields = fields
		}
		return Record{Row: raw.Row, Fields: fields, Raw: excerptValid(raw.text)}, nil
	}
	rec, err := x.finishSlow(raw)
	if rerr, ok := errors.AsType[*RecordError](err); ok {
		rerr.Raw = excerpt(raw.text)
	} else if err == nil {
		rec.Raw = excerpt(raw.text)
	}
	return rec, err
}

var _ Splitter = (*xmlReader)(nil)
