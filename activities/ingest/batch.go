package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"

	"contextworker/internal/heartbeat"
	wf "contextworker/workflows/ingest"
)

// Batch kinds.
const (
	KindDir   = "dir"
	KindJSONL = "jsonl"
	KindURLs  = "urls"
)

// chunkRow is one row of ingest_batch_chunks.
type chunkRow struct {
	items     []string
	offset    int64
	lines     int
	firstLine int
	done      bool
	counts    wf.Counts
}

func (c chunkRow) size() int { return len(c.items) + c.lines }

// BatchBegin lists the batch's documents into chunks in PostgreSQL once
// and returns the plan. A retry finds the chunks and returns the same plan.
func (a *Activities) BatchBegin(ctx context.Context, in wf.BatchInput) (wf.BatchPlan, error) {
	info := activity.GetInfo(ctx)
	c := a.Config
	plan := wf.BatchPlan{
		RunID: info.WorkflowExecution.RunID, WorkflowID: info.WorkflowExecution.ID, TenantID: in.TenantID, Source: in.Source,
		Window: c.Window, ChunkTimeout: c.ChunkTimeout, HeartbeatTimeout: c.HeartbeatTimeout, MaxHistoryEvents: c.MaxHistoryEvents,
	}
	identity, err := a.StartEvent(ctx, plan.WorkflowID, plan.RunID, nil)
	if err != nil {
		return plan, err
	}
	plan.Submitter = Submitter(identity)
	var chunks []chunkRow
	switch {
	case in.Dir != "":
		plan.Kind, plan.Path = KindDir, path.Clean(in.Dir)
		chunks, err = a.listDir(in.Dir)
	case in.JSONL != "":
		plan.Kind, plan.Path = KindJSONL, path.Clean(in.JSONL)
		chunks, err = a.scanJSONL(ctx, in.JSONL)
	default:
		plan.Kind = KindURLs
		for i := 0; i < len(in.URLs); i += c.ChunkSize {
			chunks = append(chunks, chunkRow{items: in.URLs[i:min(i+c.ChunkSize, len(in.URLs))], firstLine: i})
		}
	}
	if err != nil {
		return plan, err
	}
	for _, ch := range chunks {
		plan.Documents += ch.size()
	}
	plan.Chunks = len(chunks)
	err = pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ingest_batch_chunks WHERE run_id = $1`, plan.RunID).Scan(&n); err != nil || n > 0 {
			return err // chunks of an earlier attempt: the listing is theirs
		}
		rows := make([][]any, len(chunks))
		for i, ch := range chunks {
			rows[i] = []any{plan.RunID, i, nonNil(ch.items), ch.offset, ch.lines, ch.firstLine}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"ingest_batch_chunks"},
			[]string{"run_id", "chunk", "items", "byte_offset", "lines", "first_line"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return plan, wrap("batch begin: record chunks", err)
	}
	// A retry after a commit must report the recorded listing.
	if err := a.DB.QueryRow(ctx, `SELECT count(*), coalesce(sum(cardinality(items) + lines), 0) FROM ingest_batch_chunks WHERE run_id = $1`,
		plan.RunID).Scan(&plan.Chunks, &plan.Documents); err != nil {
		return plan, fmt.Errorf("batch begin: read chunks: %w", err)
	}
	return plan, nil
}

// root opens the configured file root; paths below it cannot escape it,
// through ".." or symbolic links.
func (a *Activities) root() (*os.Root, error) {
	if a.Config.FileRoot == "" {
		return nil, nonRetryable(ErrTypeBadInput, "batch: dir and jsonl need modules.ingest.file_root to be set")
	}
	r, err := os.OpenRoot(a.Config.FileRoot)
	if err != nil {
		return nil, nonRetryable(ErrTypeBadInput, "batch: open file_root: %v", err)
	}
	return r, nil
}

func (a *Activities) listDir(dir string) ([]chunkRow, error) {
	r, err := a.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	entries, err := fs.ReadDir(r.FS(), path.Clean(dir))
	if err != nil {
		return nil, nonRetryable(ErrTypeBadInput, "batch: list %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) > a.Config.MaxBatchDocuments {
		return nil, nonRetryable(ErrTypeBadInput, "batch: %s holds %d documents, more than max_batch_documents (%d)", dir, len(names), a.Config.MaxBatchDocuments)
	}
	var out []chunkRow
	for i := 0; i < len(names); i += a.Config.ChunkSize {
		out = append(out, chunkRow{items: names[i:min(i+a.Config.ChunkSize, len(names))]})
	}
	return out, nil
}

// Chunk processes one chunk of a batch in sub-batches, heartbeating how
// many documents it has done; a retry resumes after them (and a document
// done but not yet heartbeated returns its recorded outcome). The chunk's
// counts are recorded with it, so a retry after success returns them.
func (a *Activities) Chunk(ctx context.Context, req wf.ChunkRequest) (wf.Counts, error) {
	p := req.Plan
	row, err := a.readChunk(ctx, p.RunID, req.Chunk)
	if err != nil || row.done {
		return row.counts, err
	}
	var cp checkpoint
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &cp); err != nil {
			cp = checkpoint{}
		}
	}
	src, err := a.openChunk(ctx, p, row)
	if err != nil {
		return wf.Counts{}, err
	}
	defer src.close()
	sub := submission{tenant: p.TenantID, workflowID: p.WorkflowID, runID: p.RunID, submitter: p.Submitter}
	// read returns the next sub-batch and how many of the chunk's
	// documents are behind it; the first skip (done before a retry) are
	// skipped. One goroutine at a time reads.
	i, skip := 0, cp.Next
	read := func(ctx context.Context) ([]doc, int, error) {
		var docs []doc
		for len(docs) < a.Config.SubBatch {
			d, ok, err := src.next(ctx)
			if err != nil {
				return nil, i, err
			}
			if !ok {
				break
			}
			if i++; i > skip {
				docs = append(docs, d)
			}
		}
		return docs, i, nil
	}
	// The sub-batches go through a two-stage pipeline: while one is
	// finished (novelty lookups and the admit transaction, which waits on
	// PostgreSQL and on other chunks' locks of the same sources), the
	// next is read (URLs fetched) and prepared (the CPU work that does not
	// depend on the tenant's other SNOs). Each sub-batch still sees the
	// index as it stands after the one before was committed, so the
	// outcomes are those of running the sub-batches one after the other.
	// Loading a large tenant's index or a slow commit must not outlive
	// the heartbeat timeout: keep beating the last checkpoint meanwhile.
	stop := heartbeat.KeepAlive(ctx, cp)
	docs, end, err := read(ctx)
	var ready []scored
	if err == nil {
		ready, err = a.prepare(ctx, sub.tenant, docs)
	}
	stop()
	if err != nil {
		return cp.Counts, err
	}
	for len(docs) > 0 {
		stop := heartbeat.KeepAlive(ctx, cp)
		type prepared struct {
			docs []doc
			end  int
			out  []scored
			err  error
		}
		pctx, cancel := context.WithCancel(ctx)
		ch := make(chan prepared, 1)
		go func() {
			var p prepared
			if p.docs, p.end, p.err = read(pctx); p.err == nil {
				p.out, p.err = a.prepare(pctx, sub.tenant, p.docs)
			}
			ch <- p
		}()
		outs, err := a.finish(ctx, sub, ready)
		if err != nil {
			cancel()
			<-ch
			stop()
			return cp.Counts, err
		}
		nx := <-ch
		cancel()
		stop()
		for _, o := range outs {
			cp.Counts.Add(countOf(o.Status))
		}
		cp.Next = end
		heartbeat.Record(ctx, cp)
		if nx.err != nil {
			return cp.Counts, nx.err
		}
		if err := ctx.Err(); err != nil {
			return cp.Counts, err
		}
		docs, ready, end = nx.docs, nx.out, nx.end
	}
	_, err = a.DB.Exec(ctx, `UPDATE ingest_batch_chunks SET done_at = now(), documents = $3, admitted = $4, quarantined = $5, duplicates = $6
		WHERE run_id = $1 AND chunk = $2`, p.RunID, req.Chunk, cp.Documents, cp.Admitted, cp.Quarantined, cp.Duplicates)
	if err != nil {
		return cp.Counts, fmt.Errorf("chunk %d: record: %w", req.Chunk, err)
	}
	return cp.Counts, nil
}

// checkpoint is a Chunk activity's heartbeat: documents done, and their
// counts.
type checkpoint struct {
	Next int `json:"next"`
	wf.Counts
}

func countOf(status string) wf.Counts {
	c := wf.Counts{Documents: 1}
	switch status {
	case wf.StatusAdmitted:
		c.Admitted = 1
	case wf.StatusQuarantined:
		c.Quarantined = 1
	case wf.StatusDuplicate:
		c.Duplicates = 1
	}
	return c
}

func (a *Activities) readChunk(ctx context.Context, runID string, chunk int) (chunkRow, error) {
	var r chunkRow
	err := a.DB.QueryRow(ctx, `SELECT items, byte_offset, lines, first_line, done_at IS NOT NULL, documents, admitted, quarantined, duplicates
		FROM ingest_batch_chunks WHERE run_id = $1 AND chunk = $2`, runID, chunk).Scan(
		&r.items, &r.offset, &r.lines, &r.firstLine, &r.done, &r.counts.Documents, &r.counts.Admitted, &r.counts.Quarantined, &r.counts.Duplicates)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, nonRetryable(ErrTypeBadInput, "chunk %d of run %s is not listed", chunk, runID)
	}
	if err != nil {
		return r, fmt.Errorf("chunk %d: read: %w", chunk, err)
	}
	if r.done {
		return r, nil
	}
	r.counts = wf.Counts{}
	return r, nil
}

// readBounded reads at most limit+1 bytes of r, so an over-size document
// is seen as such without holding more of it.
func readBounded(r io.Reader, limit int) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, int64(limit)+1))
}
