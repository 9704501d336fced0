package feed

import (
	"testing"
	"unicode/utf8"
)

// compactByBytes is compact as it was, one byte at a time: the reference
// FuzzCompact holds compact to.
func compactByBytes(s string) string {
	var raw rawBuf
	inString, escaped := false, false
	start, i := 0, 0
	for ; i < len(s) && len(raw.b)+i-start <= maxRaw+utf8.UTFMax; i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			raw.add(s[start:i])
			start = i + 1
		}
	}
	if start < i {
		raw.add(s[start:i])
	}
	return raw.String()
}

// FuzzCompact: compact, which skips strings with IndexByte, quotes what the
// byte-at-a-time walk did.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{
		`{"sku": "A-1", "name": "Widget \"XL\" \\", "n": [1, 2]}`,
		"{\n  \"a\": \"b c\",\n  \"d\": \"\\\\\\\"\"\n}",
		`{"a":"` + string(make([]byte, 300)) + `"}`,
		`{"unterminated": "abc`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flat := newFlattener("json", Options{})
		if got, want := flat.compact(s), compactByBytes(s); got != want {
			t.Fatalf("compact(%q) = %q, want %q", s, got, want)
		}
	})
}
