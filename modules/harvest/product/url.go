package product

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkHTTPURL returns s if it is an absolute http or https URL with a host,
// or a Reject reason.
func checkHTTPURL(s string) (string, string) {
	if len(s) > MaxURLLen {
		return "", quote(s) + " is longer than " + strconv.Itoa(MaxURLLen) + " bytes"
	}
	if plainHTTPURL(s) {
		return s, ""
	}
	return parseHTTPURL(s)
}

// parseHTTPURL is the full check behind checkHTTPURL's fast path.
func parseHTTPURL(s string) (string, string) {
	if !utf8.ValidString(s) {
		return "", quote(s) + " is not valid UTF-8"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" ||
		!(strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) {
		return "", quote(s) + " is not an http(s) URL"
	}
	return s, ""
}

// plainHTTPURL reports whether s is an http(s) URL of the plain shape
// nearly every feed uses: scheme, "://", a host of letters, digits, dots and
// dashes with an optional port, then only printable ASCII that needs no
// escaping. Such URLs are accepted without the cost of url.Parse; anything
// else gets the full check. FuzzCheckHTTPURL holds the two to agreement.
func plainHTTPURL(s string) bool {
	var rest string
	switch {
	case len(s) > 8 && hasPrefixFold(s, "https://"):
		rest = s[8:]
	case len(s) > 7 && hasPrefixFold(s, "http://"):
		rest = s[7:]
	default:
		return false
	}
	i, port := 0, false
	for ; i < len(rest); i++ {
		c := rest[i]
		if hostBytes[c] {
			if port && (c < '0' || c > '9') {
				return false // the port is digits only
			}
			continue
		}
		switch {
		case !port && c == ':' && i > 0:
			port = true
		case c == '/' || c == '?' || c == '#':
			goto path
		default:
			return false
		}
	}
path:
	if i == 0 || rest[i-1] == ':' {
		return false // no host, or an empty port
	}
	for ; i < len(rest); i++ {
		if c := rest[i]; !pathBytes[c] {
			if c != '%' || i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2]) {
				return false
			}
		}
	}
	return true
}

// hostBytes and pathBytes are the bytes plainHTTPURL takes without a second
// look in a host (letters, digits, '.' and '-') and in the rest of a URL
// (printable ASCII but '%', which must start an escape, and the characters
// that url.Parse would escape or refuse).
var hostBytes, pathBytes = func() (host, path [256]bool) {
	for c := '!'; c <= '~'; c++ {
		host[c] = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-'
		path[c] = !strings.ContainsRune(`%"<>\^`+"`{|}", c)
	}
	return host, path
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

// normalizeURL cleans the product page URL. Spaces inside it are encoded
// rather than refused: they are a common export slip and unambiguous.
func normalizeURL(s string) (string, string) {
	s = trimSpace(s)
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "%20")
	}
	return checkHTTPURL(s)
}

// splitImages appends to dst the image URLs in one feed value, which may
// hold several separated by whitespace, '|' or ','. A comma only separates
// when an http:// or https:// URL follows it, because image CDNs use commas
// inside URLs ("/w_100,h_100/x.jpg").
func splitImages(dst []string, v string) []string {
	for i := 0; ; {
		for i < len(v) {
			size := imageSepAt(v, i)
			if size == 0 {
				break
			}
			i += size
		}
		if i == len(v) {
			return dst
		}
		start := i
		for i = skipURLBytes(v, i); i < len(v) && imageSepAt(v, i) == 0; {
			i = skipURLBytes(v, i+1)
		}
		dst = splitCommaURLs(dst, v[start:i])
	}
}

// skipURLBytes returns the index of the first byte at or after i that may
// start a separator (see imageSepAt): a space, a control character, '|',
// DEL or a non-ASCII byte. The other bytes are the bulk of a URL.
func skipURLBytes(v string, i int) int {
	for i+8 <= len(v) {
		if x := load8(v, i); outsideGraphic(x)|hasByte(x, '|') != 0 {
			break
		}
		i += 8
	}
	for ; i < len(v); i++ {
		// One unsigned comparison tests for c <= ' ' || c >= 0x7f.
		if c := v[i]; c-'!' >= 0x7f-'!' || c == '|' {
			return i
		}
	}
	return i
}

// imageSepAt returns the length of the separator ('|' or white space) at
// v[i], or 0. Only non-ASCII bytes are decoded; an invalid byte, like a
// continuation byte inside a rune that is no separator, is never one.
func imageSepAt(v string, i int) int {
	c := v[i]
	if c < utf8.RuneSelf {
		if c == '|' || c == ' ' || c >= '\t' && c <= '\r' {
			return 1
		}
		return 0
	}
	if r, size := utf8.DecodeRuneInString(v[i:]); unicode.IsSpace(r) {
		return size
	}
	return 0
}

func splitCommaURLs(dst []string, s string) []string {
	start := 0
	for i := 0; i < len(s); i++ {
		k := strings.IndexByte(s[i:], ',')
		if k < 0 {
			break
		}
		i += k
		j := i + 1
		for j < len(s) && s[j] == ',' {
			j++
		}
		// s[i:j] is a run of commas: a separator if a URL or the end follows.
		if j == len(s) || hasHTTPPrefix(s[j:]) {
			if i > start {
				dst = append(dst, s[start:i])
			}
			start = j
		}
		i = j - 1
	}
	if start < len(s) {
		dst = append(dst, s[start:])
	}
	return dst
}

func hasHTTPPrefix(s string) bool {
	return hasPrefixFold(s, "http://") || hasPrefixFold(s, "https://")
}

// hasPrefixFold reports whether s starts with prefix, a lower-case ASCII
// string, ignoring ASCII case. For such a prefix that is what
// strings.EqualFold(s[:len(prefix)], prefix) reports: the non-ASCII runes
// that fold to ASCII letters (the Kelvin sign, the long s) take more than
// one byte, so an s[:len(prefix)] holding one has fewer runes than prefix.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
