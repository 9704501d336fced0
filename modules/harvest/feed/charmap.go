package feed

import (
	"encoding/binary"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// decoded reads r decoded from enc to UTF-8: with enc's own decoder, but
// for a single-byte encoding (windows-1251, ISO-8859-x, KOI8-R: a
// charmap), with byteDecoder, which writes the same UTF-8 faster.
func decoded(enc encoding.Encoding, r io.Reader) io.Reader {
	if m, ok := enc.(*charmap.Charmap); ok {
		return transform.NewReader(r, newByteDecoder(m))
	}
	return enc.NewDecoder().Reader(r)
}

// byteDecoder decodes a single-byte encoding to the very UTF-8 x/text's
// charmap decoder writes (TestByteDecoderIsCharmaps), but copies runs of
// ASCII eight bytes at a time when the encoding keeps ASCII as it is:
// the markup of an XML feed and much of its text. x/text's decodes a byte
// a loop, on the goroutine every record passes through: 1.0 GB/s against
// 6.5 for the held-out YML in windows-1251 (mostly ASCII), 0.8 against
// 1.4-1.6 for offers mostly in Cyrillic (BenchmarkByteDecoder).
type byteDecoder struct {
	ascii bool // bytes below 0x80 decode to themselves
	utf8  [256][4]byte
	n     [256]uint8
}

func newByteDecoder(m *charmap.Charmap) *byteDecoder {
	d := &byteDecoder{ascii: true}
	for b := range 256 {
		r := m.DecodeByte(byte(b))
		d.n[b] = uint8(utf8.EncodeRune(d.utf8[b][:], r))
		if b < utf8.RuneSelf && r != rune(b) {
			d.ascii = false
		}
	}
	return d
}

func (d *byteDecoder) Reset() {}

// Transform implements transform.Transformer.
func (d *byteDecoder) Transform(dst, src []byte, _ bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if d.ascii {
			n := min(len(src)-nSrc, len(dst)-nDst)
			k := asciiPrefix(src[nSrc : nSrc+n])
			copy(dst[nDst:], src[nSrc:nSrc+k])
			nDst, nSrc = nDst+k, nSrc+k
			if nSrc == len(src) {
				break
			}
			if k == n {
				return nDst, nSrc, transform.ErrShortDst
			}
		}
		// Bytes by the table, up to the next ASCII one.
		for ; nSrc < len(src); nSrc++ {
			c := src[nSrc]
			if d.ascii && c < utf8.RuneSelf {
				break
			}
			u, w := &d.utf8[c], int(d.n[c])
			if nDst+w > len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			switch w {
			case 1:
				dst[nDst] = u[0]
			case 2:
				dst[nDst], dst[nDst+1] = u[0], u[1]
			case 3:
				dst[nDst], dst[nDst+1], dst[nDst+2] = u[0], u[1], u[2]
			default:
				copy(dst[nDst:nDst+w], u[:w])
			}
			nDst += w
		}
	}
	return nDst, nSrc, nil
}

// asciiPrefix returns how many bytes b starts with that are ASCII.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b) && b[i] < utf8.RuneSelf; i++ {
	}
	return i
}
