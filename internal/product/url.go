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
	case len(s) > 7 && strings.EqualFold(s[:7], "http://"):
		rest = s[7:]
	case len(s) > 8 && strings.EqualFold(s[:8], "https://"):
		rest = s[8:]
	default:
		return false
	}
	i, port := 0, false
	for ; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c >= '0' && c <= '9':
		case !port && (c|0x20 >= 'a' && c|0x20 <= 'z' || c == '.' || c == '-'):
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
		switch c := rest[i]; {
		case c <= ' ' || c >= 0x7f, c == '"', c == '<', c == '>', c == '\\', c == '^', c == '`', c == '{', c == '|', c == '}':
			return false
		case c == '%':
			if i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

// normalizeURL cleans the product page URL. Spaces inside it are encoded
// rather than refused: they are a common export slip and unambiguous.
func normalizeURL(s string) (string, string) {
	s = strings.TrimSpace(s)
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
	for {
		v = strings.TrimLeftFunc(v, isImageSep)
		if v == "" {
			return dst
		}
		end := strings.IndexFunc(v, isImageSep)
		if end < 0 {
			end = len(v)
		}
		dst = splitCommaURLs(dst, v[:end])
		v = v[end:]
	}
}

func isImageSep(r rune) bool { return r == '|' || unicode.IsSpace(r) }

func splitCommaURLs(dst []string, s string) []string {
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
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
	return len(s) >= 7 && strings.EqualFold(s[:7], "http://") ||
		len(s) >= 8 && strings.EqualFold(s[:8], "https://")
}
