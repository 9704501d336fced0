package gardener

import (
	"context"
	"encoding/binary"
	"errors"
	"io"

	"github.com/jackc/pgx/v5"

	wf "contextworker/workflows/gardener"
)

// copySQL takes enrichment rows in PostgreSQL's binary COPY format
// (copyReader), in the order of enrichmentColumns.
const copySQL = `COPY enrichments (tenant_id, supplier_code, sku, field, value, enricher, enricher_version, run_id) FROM STDIN (FORMAT binary)`

// copyHeader opens a binary COPY stream: the signature, no flags, no
// header extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// jsonbVersion leads a jsonb value in binary format; the JSON text follows.
const jsonbVersion = 1

// copyReader streams fs as a binary COPY stream of enrichment rows, a
// few rows at a time (never the whole batch in memory). It sends what
// pgx's CopyFrom sends for these columns (text as its bytes, jsonb as its
// version byte and text), written without a value of interface type per
// column and a codec lookup for each: those were a seventh of the
// worker's time in a first run.
type copyReader struct {
	plan wf.Plan
	fs   []field
	next int // the next row to encode; len(fs)+1 once the trailer is out
	buf  []byte
	off  int // what Read has taken of buf
}

func newCopyReader(plan wf.Plan, fs []field) *copyReader {
	return &copyReader{plan: plan, fs: fs, buf: append(make([]byte, 0, 64<<10), copyHeader...)}
}

func (r *copyReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.next > len(r.fs) {
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		for r.next < len(r.fs) && len(r.buf) < 32<<10 {
			r.buf = r.appendRow(r.buf, &r.fs[r.next])
			r.next++
		}
		if r.next == len(r.fs) {
			r.buf = binary.BigEndian.AppendUint16(r.buf, 0xffff) // the trailer: a tuple of -1 fields
			r.next++
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

func (r *copyReader) appendRow(b []byte, f *field) []byte {
	text := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(enrichmentColumns)))
	b = text(b, r.plan.TenantID)
	b = text(b, f.supplier)
	b = text(b, f.sku)
	b = text(b, f.name)
	if f.value == nil {
		b = binary.BigEndian.AppendUint32(b, ^uint32(0)) // NULL: the column refuses it, as it should
	} else {
		b = append(binary.BigEndian.AppendUint32(b, uint32(1+len(f.value))), jsonbVersion)
		b = append(b, f.value...)
	}
	b = text(b, f.enricher)
	b = text(b, f.version)
	return text(b, r.plan.RunID)
}

// copyNew COPYs fields into enrichments inside a savepoint, so that a
// conflict leaves the transaction usable.
func copyNew(ctx context.Context, tx pgx.Tx, plan wf.Plan, fs []field) (int64, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, err
	}
	tag, err := sp.Conn().PgConn().CopyFrom(ctx, newCopyReader(plan, fs), copySQL)
	if err != nil {
		return 0, errors.Join(err, sp.Rollback(ctx))
	}
	return tag.RowsAffected(), sp.Commit(ctx)
}
