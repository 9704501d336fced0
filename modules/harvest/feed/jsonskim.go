package feed

import (
	"encoding/binary"
	"fmt"
)

// jsonSkim follows the structure of one JSON value fed to it in pieces,
// keeping none of it: it finds where the value ends, how deeply it nests and
// its longest string with the key that names it. The JSON reader keeps a
// record while skimming it and stops keeping it at the record bound, so a
// record of any size costs the bound; the JSON Lines reader skims the rest
// of a line over the bound to say which field made it so.
//
// It assumes well-formed JSON: what it reports about broken JSON is
// approximate, and encoding/json validates whatever is kept.
type jsonSkim struct {
	depth    int  // open objects and arrays
	deepest  int  // the most that were open at once
	inString bool // inside a string
	escaped  bool // after a backslash in a string
	scalar   bool // inside a number or literal at depth 0
	started  bool
	// kinds holds '{' or '[' for the innermost open values, up to
	// maxSkimKinds: whether a string is a key depends on it.
	kinds     []byte
	expectKey bool  // the next string in this object is a key
	isKey     bool  // the current string is a key
	strLen    int64 // bytes of the current string
	key       []byte
	longest   int64  // bytes of the longest string value
	longKey   []byte // the key of the longest string value
	total     int64  // bytes fed, up to the end of the value
}

// maxSkimKinds bounds jsonSkim.kinds; deeper values are too deep anyway.
const maxSkimKinds = 1024

// maxKeyName bounds the key jsonSkim keeps to name a field.
const maxKeyName = 128

func (s *jsonSkim) reset() {
	*s = jsonSkim{kinds: s.kinds[:0], key: s.key[:0], longKey: s.longKey[:0]}
}

// feed skims b, which continues the value. It returns how many bytes of b
// belong to the value and whether the value ended there.
func (s *jsonSkim) feed(b []byte) (int, bool) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if s.inString {
			switch {
			case s.escaped:
				s.escaped = false
				s.strLen++
			case c == '\\':
				s.escaped = true
			case c == '"':
				s.inString = false
				s.endString()
				if s.depth == 0 {
					s.total += int64(i + 1)
					return i + 1, true
				}
			default:
				// The run of bytes up to the next quote or backslash
				// is the string's, whatever they are.
				n := plainRun(b[i:])
				s.strLen += int64(n)
				if s.isKey && len(s.key) < maxKeyName {
					s.key = append(s.key, b[i:i+min(n, maxKeyName-len(s.key))]...)
				}
				i += n - 1
			}
			continue
		}
		if s.scalar {
			switch c {
			case ',', ']', '}', ' ', '\t', '\r', '\n':
				s.total += int64(i)
				return i, true
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			s.started = true
			s.inString, s.strLen = true, 0
			s.isKey = s.expectKey
			if s.isKey {
				s.key = s.key[:0]
			}
		case '{', '[':
			s.started = true
			s.depth++
			s.deepest = max(s.deepest, s.depth)
			if len(s.kinds) < maxSkimKinds {
				s.kinds = append(s.kinds, c)
			}
			s.expectKey = c == '{'
		case '}', ']':
			if s.depth <= maxSkimKinds && len(s.kinds) > 0 {
				s.kinds = s.kinds[:len(s.kinds)-1]
			}
			s.depth--
			s.expectKey = false
			if s.depth <= 0 {
				s.total += int64(i + 1)
				return i + 1, true
			}
		case ',':
			s.expectKey = len(s.kinds) > 0 && s.kinds[len(s.kinds)-1] == '{'
		case ':':
			s.expectKey = false
		default:
			if !s.started {
				s.started, s.scalar = true, true
			}
		}
	}
	s.total += int64(len(b))
	return len(b), false
}

// objectEnd returns the length of the object or array b starts with, and
// the most objects and arrays open at once in it, when all of it is in b:
// jsonSkim's walk without what it notes for a value over a bound
// (FuzzJSONSkimPieces compares them).
func objectEnd(b []byte) (n, deepest int, ok bool) {
	if len(b) == 0 || b[0] != '{' && b[0] != '[' {
		return 0, 0, false
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; ; i += 2 { // past a backslash and the byte it escapes
				if i += plainRun(b[min(i, len(b)):]); i >= len(b) {
					return 0, 0, false
				}
				if b[i] == '"' {
					break
				}
			}
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, deepest, true
			}
		}
	}
	return 0, 0, false
}

// plainRun returns how many bytes b starts with that are neither a quote
// nor a backslash.
func plainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	n := 0
	// Eight bytes at a time while none is either (a zero byte of the word
	// xor the byte repeated marks one).
	for ; n+8 <= len(b); n += 8 {
		w := binary.LittleEndian.Uint64(b[n:])
		q, e := w^('"'*ones), w^('\\'*ones)
		if ((q-ones)&^q|(e-ones)&^e)&highs != 0 {
			break
		}
	}
	for ; n < len(b); n++ {
		if b[n] == '"' || b[n] == '\\' {
			return n
		}
	}
	return n
}

// endString notes a string that just ended.
func (s *jsonSkim) endString() {
	if s.isKey {
		s.expectKey = false
		return
	}
	if s.strLen > s.longest {
		s.longest = s.strLen
		s.longKey = append(s.longKey[:0], s.key...)
	}
}

// field names the field of the longest string value, for messages.
func (s *jsonSkim) field() string {
	if len(s.longKey) == 0 {
		return "a value"
	}
	return fmt.Sprintf("field %q", s.longKey)
}
