package feed

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	// klauspost's gzip reader is the standard library's API and errors
	// (its own values of them) at about 1.35 times the speed: 0.72 s
	// against 0.97 s for a 290 MB CSV feed, on the reading goroutine.
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// gzipMagic starts every gzip stream (RFC 1952).
const gzipMagic = "\x1f\x8b"

// Decompress returns a reader of the decompressed bytes of r when r starts
// with the gzip magic bytes, and otherwise a reader of r's bytes unchanged:
// it peeks and consumes nothing. Suppliers serve feeds gzipped with and
// without a Content-Encoding header, so the bytes decide, not the metadata
// (which is why no "this feed is gzipped" option is needed). A feed.xml.gz
// served with Content-Encoding: gzip arrives gzipped twice, so a second
// layer is unpacked too; no feed format starts with the gzip magic bytes.
// Errors in the gzip stream, at once or while reading, wrap ErrMalformed; a
// stream cut short wraps ErrTruncated.
//
// Decompress does not bound the unpacked size: the caller does, against
// decompression bombs.
func Decompress(r io.Reader) (io.Reader, error) {
	for layer := 0; ; layer++ {
		br := bufio.NewReader(r)
		head, err := br.Peek(len(gzipMagic))
		if err != nil && !errors.Is(err, io.EOF) {
			if layer > 0 {
				return nil, err // already a gzip error
			}
			return nil, fmt.Errorf("feed: decompress: %w", err)
		}
		if string(head) != gzipMagic || layer == maxGzipLayers {
			return br, nil
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, gzipError(err)
		}
		r = &gunzipper{zr: zr}
	}
}

// maxGzipLayers bounds how many gzip layers Decompress unpacks.
const maxGzipLayers = 2

// gunzipper marks gzip errors as ErrMalformed, so callers need not know that
// the feed was compressed to classify a failure.
type gunzipper struct{ zr *gzip.Reader }

func (g *gunzipper) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError(err)
	}
	return n, err
}

func gzipError(err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, ErrMalformed) {
		return err // from an outer layer
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("feed: gzip: %w: %w", ErrTruncated, err)
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.As(err, &corrupt) {
		return fmt.Errorf("feed: gzip: %w: %w", ErrMalformed, err)
	}
	return fmt.Errorf("feed: gzip: %w", err)
}
