package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"

	"contextworker/modules/ingest/admission"
	wf "contextworker/workflows/ingest"
)

// chunkSource yields a chunk's documents in order.
type chunkSource struct {
	next  func(ctx context.Context) (doc, bool, error)
	close func()
}

// maxLine bounds a JSONL line: a document at max_doc_bytes escaped as
// JSON (at most 6 bytes per byte for \u00XX) plus room for the rest.
func (a *Activities) maxLine() int { return 6*a.Config.Admission.MaxDocBytes + 64<<10 }

func (a *Activities) openChunk(ctx context.Context, p wf.BatchPlan, row chunkRow) (*chunkSource, error) {
	md := map[string]string(nil)
	switch p.Kind {
	case KindURLs:
		i := 0
		return &chunkSource{close: func() {}, next: func(ctx context.Context) (doc, bool, error) {
			if i >= len(row.items) {
				return doc{}, false, nil
			}
			u := row.items[i]
			i++
			// numbered: the same URL twice in a list is two submissions
			item := fmt.Sprintf("url:%d:%s", row.firstLine+i, u)
			d := doc{item: item[:min(len(item), 500)], source: p.Source, metadata: md}
			body, err := a.fetch.get(ctx, u)
			if ctx.Err() != nil {
				return d, false, ctx.Err()
			}
			if err != nil {
				// The batch goes on: the failure is recorded in quarantine.
				d.failure = err.Error()
			}
			d.body = body
			return d, true, nil
		}}, nil
	case KindDir, KindJSONL:
	default:
		return nil, nonRetryable(ErrTypeBadInput, "chunk: unknown batch kind %q", p.Kind)
	}
	r, err := a.root()
	if err != nil {
		return nil, err
	}
	if p.Kind == KindDir {
		dir, i := p.Path, 0
		return &chunkSource{close: func() { r.Close() }, next: func(context.Context) (doc, bool, error) {
			if i >= len(row.items) {
				return doc{}, false, nil
			}
			name := row.items[i]
			i++
			d := doc{item: "file:" + name, source: p.Source, metadata: md}
			f, err := r.Open(path.Join(dir, name))
			if err != nil {
				d.failure = err.Error()
				return d, true, nil
			}
			defer f.Close()
			if d.body, err = readBounded(f, a.Config.Admission.MaxDocBytes); err != nil {
				d.failure = err.Error()
			}
			return d, true, nil
		}}, nil
	}
	f, err := r.Open(p.Path)
	if err != nil {
		r.Close()
		return nil, nonRetryable(ErrTypeBadInput, "chunk: open %s: %v", p.Path, err)
	}
	if _, err := f.Seek(row.offset, io.SeekStart); err != nil {
		f.Close()
		r.Close()
		return nil, fmt.Errorf("chunk: seek %s: %w", p.Path, err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	line, taken := row.firstLine, 0
	return &chunkSource{close: func() { f.Close(); r.Close() }, next: func(context.Context) (doc, bool, error) {
		for taken < row.lines {
			raw, long, err := readLine(br, a.maxLine())
			if err == io.EOF && raw == nil {
				return doc{}, false, nil
			}
			if err != nil && err != io.EOF {
				return doc{}, false, fmt.Errorf("chunk: read %s: %w", p.Path, err)
			}
			line++
			if len(bytes.TrimSpace(raw)) == 0 && !long {
				continue
			}
			taken++
			return a.jsonlDoc(p, line, raw, long), true, nil
		}
		return doc{}, false, nil
	}}, nil
}

// jsonRecord is one JSONL line.
type jsonRecord struct {
	Text     *string           `json:"text"`
	Source   string            `json:"source"`
	Metadata map[string]string `json:"metadata"`
}

var sourceRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$`)

func (a *Activities) jsonlDoc(p wf.BatchPlan, line int, raw []byte, long bool) doc {
	d := doc{item: "line:" + strconv.Itoa(line), source: p.Source}
	if long {
		d.failure, d.failCode = fmt.Sprintf("line %d is longer than %d bytes", line, a.maxLine()), admission.Oversize
		d.body = raw
		return d
	}
	var rec jsonRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(&rec)
	switch {
	case err != nil:
		d.failure = fmt.Sprintf("line %d: %v", line, err)
	case rec.Text == nil:
		err = errors.New("no text")
		d.failure = fmt.Sprintf("line %d: no \"text\" string", line)
	case rec.Source != "" && !sourceRe.MatchString(rec.Source):
		err = errors.New("bad source")
		d.failure = fmt.Sprintf("line %d: source %.100q is not a valid source", line, rec.Source)
	}
	if err != nil {
		d.failCode, d.body = ReasonUnparseable, raw
		return d
	}
	if rec.Source != "" {
		d.source = rec.Source
	}
	d.metadata, d.body = rec.Metadata, []byte(*rec.Text)
	return d
}

// readLine reads one line without its newline. A line longer than limit
// is read to its end but only its first limit bytes are returned, with
// long set, so a hostile line costs limit bytes of memory.
func readLine(br *bufio.Reader, limit int) (line []byte, long bool, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) <= limit {
			line = append(line, frag...)
		} else {
			long = true
			if room := limit - len(line); room > 0 {
				line = append(line, frag[:room]...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(line) == 0 && err == io.EOF {
			return nil, long, io.EOF
		}
		return bytes.TrimRight(line, "\r\n"), long, err
	}
}

// scanJSONL reads the file once and cuts it into chunks of ChunkSize
// non-blank lines, recording where each starts.
func (a *Activities) scanJSONL(ctx context.Context, name string) ([]chunkRow, error) {
	r, err := a.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(path.Clean(name))
	if err != nil {
		return nil, nonRetryable(ErrTypeBadInput, "batch: open %s: %v", name, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var out []chunkRow
	var offset int64
	line, total := 0, 0
	for {
		start := offset
		n, blank, err := skimLine(br, &offset)
		if err == io.EOF && n == 0 {
			break
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("batch: read %s: %w", name, err)
		}
		line++
		if blank {
			continue
		}
		if len(out) == 0 || out[len(out)-1].lines == a.Config.ChunkSize {
			out = append(out, chunkRow{offset: start, firstLine: line - 1})
		}
		out[len(out)-1].lines++
		if total++; total > a.Config.MaxBatchDocuments {
			return nil, nonRetryable(ErrTypeBadInput, "batch: %s holds more than max_batch_documents (%d) lines", name, a.Config.MaxBatchDocuments)
		}
		if total%10000 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// skimLine consumes one line without keeping it, adding its length
// (newline included) to *offset; blank says it held only white space. At
// the end it returns io.EOF with n == 0.
func skimLine(br *bufio.Reader, offset *int64) (n int, blank bool, err error) {
	blank = true
	for {
		frag, err := br.ReadSlice('\n')
		n += len(frag)
		*offset += int64(len(frag))
		if blank && len(bytes.TrimSpace(frag)) > 0 {
			blank = false
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return n, blank, err
	}
}
