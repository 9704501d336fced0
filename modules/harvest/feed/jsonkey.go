package feed

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// jsonFinishVersion names the rules by which Finish flattens a JSON
// element or a JSON Lines line into Fields (the flattener), as
// xmlFinishVersion does XML's. TestFinishVersions holds it to a digest of
// what Finish returns for the test feeds' records.
const jsonFinishVersion = "feed/json/finish/1"

// jsonRawContext is the digest of what a JSON or JSON Lines reader's
// Finish reads besides a record's text: the flattener's bounds and the
// rules' version.
func jsonRawContext(op string, opts Options) uint64 {
	return xxhash.Sum64(fmt.Appendf(nil, "%s\x00%s %q %d %d %d", jsonFinishVersion, op,
		opts.RecordPath, opts.MaxFieldBytes, opts.MaxRecordBytes, opts.MaxDepth))
}

// RawKey returns an element's text and the digest of the rest Finish
// reads. See RawKeyer.
func (j *jsonReader) RawKey(raw RawRecord) (string, uint64, bool) {
	return raw.text, j.rawContext, true
}

// RawKey returns a line's text and the digest of the rest Finish reads.
// See RawKeyer.
func (l *jsonlReader) RawKey(raw RawRecord) (string, uint64, bool) {
	return raw.text, l.rawContext, true
}

var (
	_ RawKeyer = (*jsonReader)(nil)
	_ RawKeyer = (*jsonlReader)(nil)
)
