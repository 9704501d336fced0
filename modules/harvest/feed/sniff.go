package feed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// sniffLen is how much of a stream Sniff looks at.
const sniffLen = 1024

// Sniff returns a reader of r's bytes, unchanged, and ErrHTML when they look
// like an HTML page: "<!doctype html" or "<html", in any case, after optional
// white space, a byte order mark, an XML declaration and comments. Suppliers
// answer an expired login or a server error with such a page and a 200
// status, and it must never be parsed as a feed. r must be decompressed
// first (see Decompress). The reader is returned even with ErrHTML, so the
// caller can log the page.
func Sniff(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return br, fmt.Errorf("feed: sniff: %w", err)
	}
	if looksLikeHTML(head) {
		return br, fmt.Errorf("feed: sniff: %w (a login or error page instead of the feed?)", ErrHTML)
	}
	return br, nil
}

// looksLikeHTML reports whether head starts an HTML document.
func looksLikeHTML(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte(utf8BOM))
	for {
		head = bytes.TrimLeft(head, " \t\r\n\f")
		switch {
		case hasPrefixFold(head, "<?xml"):
			end := bytes.Index(head, []byte("?>"))
			if end < 0 {
				return false
			}
			head = head[end+2:]
		case hasPrefixFold(head, "<!--"):
			end := bytes.Index(head, []byte("-->"))
			if end < 0 {
				return false
			}
			head = head[end+3:]
		default:
			return hasTagFold(head, "<!doctype html") || hasTagFold(head, "<html")
		}
	}
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// hasTagFold reports whether b starts with the tag opening prefix, followed
// by the end of the tag or of b, so that "<htmlfeed>" is not HTML.
func hasTagFold(b []byte, prefix string) bool {
	if !hasPrefixFold(b, prefix) {
		return false
	}
	if len(b) == len(prefix) {
		return true
	}
	switch b[len(prefix)] {
	case ' ', '\t', '\r', '\n', '\f', '>', '/':
		return true
	}
	return false
}
