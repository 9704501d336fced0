package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/feed"
	"contextworker/internal/product"
	wf "contextworker/workflows/harvest"
)

// YML params reach product attributes only through Pairs.
var _ product.Enumerator = feed.Record{}

// stageColumns are the staging table's columns, in CopyFrom order.
var stageColumns = []string{"row_no", "part", "sku", "name", "description", "brand", "gtin", "price", "currency",
	"stock", "availability", "category_path", "product_url", "image_urls", "attributes", "content_hash", "unchanged"}

// The staging table is partitioned by merge partition, so each Merge scans
// only its own child table and no index has to be built after loading.
// Children are UNLOGGED: staging is rebuilt from the feed after a database
// crash anyway (see harvest_stage_progress). A row of a product that is
// already stored with the same content hash is staged slim: sku and hash
// only, with unchanged = true, so an unchanged re-harvest writes little.
const stageDDL = `CREATE TABLE IF NOT EXISTS %s (
	row_no bigint NOT NULL, part integer NOT NULL, sku text NOT NULL, name text,
	description text, brand text, gtin text, price numeric(18,4), currency text,
	stock bigint, availability text, category_path text[], product_url text, image_urls text[],
	attributes jsonb, content_hash text NOT NULL, unchanged boolean NOT NULL) PARTITION BY LIST (part)`

const stagePartDDL = `CREATE UNLOGGED TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES IN (%d)`

// stagePart names partition part of a run's staging table.
func stagePart(runID string, part int) string {
	return pgx.Identifier{strings.Trim(stageTable(runID), `"`) + "_" + strconv.Itoa(part)}.Sanitize()
}

func (a *Activities) createStage(ctx context.Context, plan wf.Plan) error {
	table := stageTable(plan.RunID)
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf(stageDDL, table)); err != nil {
			return err
		}
		for p := range plan.Partitions {
			if _, err := tx.Exec(ctx, fmt.Sprintf(stagePartDDL, stagePart(plan.RunID, p), table, p)); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkpoint is the Stage activity's durable progress (harvest_stage_progress).
type checkpoint struct {
	Rows     int64 `json:"rows_consumed"`
	Valid    int64 `json:"valid"`
	Rejected int64 `json:"rejected"`
	Bytes    int64 `json:"bytes"`
	Attempts int   `json:"attempts"`
	Resumed  int64 `json:"resumed_from"`
	// Dups is set once a SKU was seen twice, or staging resumed (nobody
	// then saw every SKU); merges deduplicate only when it is set.
	Dups bool `json:"may_have_duplicates"`
	v    validators
}

// Stage streams the feed into the run's staging table, BatchSize rows per
// transaction. Each transaction also writes that batch's rejects and the
// checkpoint, so staging is exactly-once: a retry (after a crash, say)
// fetches the feed again and skips the rows the checkpoint covers. If the
// feed changed in between, staging restarts from zero.
func (a *Activities) Stage(ctx context.Context, plan wf.Plan) (wf.StageResult, error) {
	table := stageTable(plan.RunID)
	log := activity.GetLogger(ctx)
	if err := a.createStage(ctx, plan); err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: create table: %w", err)
	}
	cp, found, err := a.loadCheckpoint(ctx, plan.RunID)
	if err != nil {
		return wf.StageResult{}, err
	}
	if !found {
		if err := a.resetStage(ctx, plan); err != nil {
			return wf.StageResult{}, err
		}
	}
	cp.Attempts++
	cp.Resumed = cp.Rows
	if cp.Rows > 0 {
		cp.Dups = true
		log.Info("resuming staging from checkpoint", "rows_consumed", cp.Rows, "attempt", cp.Attempts)
	}

	var prev *validators
	if plan.Conditional && cp.Rows == 0 {
		prev, err = a.lastValidators(ctx, plan)
		if err != nil {
			return wf.StageResult{}, err
		}
	}
	hdrs, err := a.headers(plan)
	if err != nil {
		return wf.StageResult{}, err
	}
	fetched, err := a.fetch.open(ctx, plan.FeedURL, hdrs, prev)
	if err != nil {
		return wf.StageResult{}, err
	}
	if fetched.NotModified {
		log.Info("feed not modified since the last successful run")
		_, err := a.DB.Exec(ctx, `UPDATE harvest_runs SET staged_at = now(), stage_attempts = $2 WHERE run_id = $1`, plan.RunID, cp.Attempts)
		return wf.StageResult{Unchanged: true, Attempts: cp.Attempts}, err
	}
	defer fetched.Body.Close()
	if cp.Rows > 0 && !cp.v.same(fetched.Validators) {
		log.Warn("feed changed since the checkpoint was written; staging again from the start")
		if err := a.resetStage(ctx, plan); err != nil {
			return wf.StageResult{}, err
		}
		cp = checkpoint{Attempts: cp.Attempts}
	}
	cp.v = fetched.Validators

	opts, err := feedOptions(plan)
	if err != nil {
		return wf.StageResult{}, err
	}
	normOpts := product.Options{Mapping: product.Mapping(plan.Mapping), Format: plan.Format, DefaultCurrency: plan.DefaultCurrency}
	if _, err := product.NewNormalizer(normOpts); err != nil {
		return wf.StageResult{}, nonRetryable(ErrTypeBadConfig, "normalizer: %v", err)
	}
	raw := &limitReader{r: fetched.Body, max: a.Config.MaxFeedBytes, what: "max_feed_bytes"}
	unpacked, err := feed.Decompress(raw)
	if err != nil {
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n, fetched.Validators.Length)
	}
	sniffed, err := feed.Sniff(&limitReader{r: unpacked, max: a.Config.MaxUnpackedBytes, what: "max_unpacked_bytes"})
	if err != nil {
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n, fetched.Validators.Length)
	}
	reader, err := feed.NewReader(sniffed, opts)
	if err != nil {
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n, fetched.Validators.Length)
	}
	defer reader.Close()

	existing, err := a.loadExisting(ctx, plan)
	if err != nil {
		return wf.StageResult{}, err
	}
	copyStart := time.Now()
	pctx, stopProducer := context.WithCancel(ctx)
	defer stopProducer()
	prod, err := startProducer(pctx, reader, func() (*product.Normalizer, error) { return product.NewNormalizer(normOpts) }, producerOptions{
		parts: uint32(plan.Partitions), skipTo: cp.Rows, skuField: skuFieldOf(plan), existing: existing,
	})
	if err != nil {
		return wf.StageResult{}, nonRetryable(ErrTypeBadConfig, "normalizer: %v", err)
	}
	src := &stageSource{items: prod.out, batch: a.Config.BatchSize}
	for !src.eof {
		src.startBatch()
		err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{strings.Trim(table, `"`)}, stageColumns, src); err != nil {
				if src.err != nil {
					return src.err
				}
				return fmt.Errorf("stage: copy rows: %w", err)
			}
			if src.err != nil {
				return src.err
			}
			if len(src.rejects) > 0 {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"harvest_rejects"}, []string{"run_id", "row_no", "sku", "reason", "raw"},
					pgx.CopyFromSlice(len(src.rejects), func(i int) ([]any, error) {
						r := src.rejects[i]
						return []any{plan.RunID, r.row, nullable(r.sku), r.reason, r.raw}, nil
					})); err != nil {
					return fmt.Errorf("stage: copy rejects: %w", err)
				}
			}
			next := cp
			next.Rows = max(cp.Rows, src.lastRow)
			next.Valid += src.valid
			next.Rejected += int64(len(src.rejects))
			next.Bytes = raw.n
			next.Dups = cp.Dups || prod.dups.Load()
			if err := saveCheckpoint(ctx, tx, plan.RunID, next); err != nil {
				return err
			}
			cp = next
			return nil
		})
		if err != nil {
			return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n, fetched.Validators.Length)
		}
		activity.RecordHeartbeat(ctx, cp)
	}
	log.Info("staged feed", "rows", cp.Rows, "valid", cp.Valid, "rejected", cp.Rejected, "bytes", cp.Bytes, "took", time.Since(copyStart).String())
	sealStart := time.Now()
	res, err := a.sealStage(ctx, plan, cp)
	log.Info("sealed staging table", "took", time.Since(sealStart).String())
	return res, err
}

// sealStage records the staging counts on the run. Duplicate SKUs (the last
// occurrence in the feed wins) are rejected by the merges, partition by
// partition, and counted there.
func (a *Activities) sealStage(ctx context.Context, plan wf.Plan, cp checkpoint) (wf.StageResult, error) {
	res := wf.StageResult{Bytes: cp.Bytes, RowsRead: cp.Valid + cp.Rejected, Valid: cp.Valid, Rejected: cp.Rejected,
		Attempts: cp.Attempts, ResumedFrom: cp.Resumed}
	_, err := a.DB.Exec(ctx, `UPDATE harvest_runs SET feed_bytes = $2, rows_read = $3, rows_valid = $4, rows_rejected = $5,
			may_have_duplicates = $6, stage_attempts = $7, resumed_from_row = $8, etag = $9, last_modified = $10, staged_at = now(),
			first_load = NOT EXISTS (SELECT 1 FROM products WHERE tenant_id = $11 AND supplier_code = $12)
		WHERE run_id = $1`, plan.RunID, res.Bytes, res.RowsRead, res.Valid, res.Rejected, cp.Dups,
		res.Attempts, res.ResumedFrom, nullable(cp.v.ETag), nullable(cp.v.LastModified), plan.TenantID, plan.SupplierCode)
	if err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: seal: %w", err)
	}
	return res, nil
}

// classifyFeedErr turns a broken feed into a non-retryable failure and
// leaves transient trouble (network, database) retryable.
func classifyFeedErr(ctx context.Context, err error, got, want int64) error {
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		return err
	case errors.Is(err, feed.ErrHTML):
		return nonRetryable(ErrTypeFeedBroken, "feed is an HTML page, not a feed: %v", err)
	case errors.Is(err, feed.ErrMalformed):
		return nonRetryable(ErrTypeFeedBroken, "feed is broken: %v", err)
	case errors.Is(err, io.ErrUnexpectedEOF) && want > 0 && got < want:
		// The body ended before its Content-Length: a dropped connection
		// (retry) or a server that truncates (fail after a few tries).
		if activity.GetInfo(ctx).Attempt >= 3 {
			return nonRetryable(ErrTypeFeedBroken, "feed is truncated: got %d of %d bytes in %d attempts", got, want, activity.GetInfo(ctx).Attempt)
		}
		return fmt.Errorf("feed download ended early (%d of %d bytes): %w", got, want, err)
	}
	return err
}

func (a *Activities) resetStage(ctx context.Context, plan wf.Plan) error {
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE `+stageTable(plan.RunID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM harvest_rejects WHERE run_id = $1`, plan.RunID); err != nil {
			return err
		}
		return saveCheckpoint(ctx, tx, plan.RunID, checkpoint{})
	})
}

func (a *Activities) loadCheckpoint(ctx context.Context, runID string) (checkpoint, bool, error) {
	var cp checkpoint
	var etag, lm *string
	var length *int64
	err := a.DB.QueryRow(ctx, `SELECT rows_consumed, rows_valid, rows_rejected, feed_bytes, etag, last_modified, length, attempts, may_have_duplicates
		FROM harvest_stage_progress WHERE run_id = $1`, runID).Scan(&cp.Rows, &cp.Valid, &cp.Rejected, &cp.Bytes, &etag, &lm, &length, &cp.Attempts, &cp.Dups)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("stage: load checkpoint: %w", err)
	}
	cp.v = validators{ETag: deref(etag), LastModified: deref(lm), Length: derefInt(length)}
	return cp, true, nil
}

func saveCheckpoint(ctx context.Context, tx pgx.Tx, runID string, cp checkpoint) error {
	_, err := tx.Exec(ctx, `INSERT INTO harvest_stage_progress (run_id, rows_consumed, rows_valid, rows_rejected, feed_bytes, etag, last_modified, length, attempts, resumed_from, may_have_duplicates)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (run_id) DO UPDATE SET rows_consumed = excluded.rows_consumed, rows_valid = excluded.rows_valid,
			rows_rejected = excluded.rows_rejected, feed_bytes = excluded.feed_bytes, etag = excluded.etag,
			last_modified = excluded.last_modified, length = excluded.length, attempts = excluded.attempts,
			resumed_from = excluded.resumed_from, may_have_duplicates = excluded.may_have_duplicates`,
		runID, cp.Rows, cp.Valid, cp.Rejected, cp.Bytes, nullable(cp.v.ETag), nullable(cp.v.LastModified), cp.v.Length, cp.Attempts, cp.Resumed, cp.Dups)
	if err != nil {
		return fmt.Errorf("stage: save checkpoint: %w", err)
	}
	return nil
}

func (a *Activities) lastValidators(ctx context.Context, plan wf.Plan) (*validators, error) {
	var etag, lm *string
	err := a.DB.QueryRow(ctx, `SELECT etag, last_modified FROM harvest_feeds WHERE tenant_id = $1 AND supplier_code = $2 AND feed_url = $3`,
		plan.TenantID, plan.SupplierCode, plan.FeedURL).Scan(&etag, &lm)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stage: load feed validators: %w", err)
	}
	if deref(etag) == "" && deref(lm) == "" {
		return nil, nil
	}
	return &validators{ETag: deref(etag), LastModified: deref(lm)}, nil
}

type reject struct {
	row    int64
	sku    string
	reason string
	raw    string
}

// stageSource feeds CopyFrom from the producer, BatchSize feed rows (valid
// or rejected) per transaction.
type stageSource struct {
	items <-chan []item
	batch int

	chunk   []item
	n       int
	valid   int64
	lastRow int64
	rejects []reject
	values  []any
	eof     bool
	err     error
}

func (s *stageSource) startBatch() {
	s.n, s.valid, s.rejects = 0, 0, s.rejects[:0]
}

func (s *stageSource) Next() bool {
	for {
		if s.eof || s.err != nil || s.n >= s.batch {
			return false
		}
		if len(s.chunk) == 0 {
			chunk, ok := <-s.items
			if !ok {
				s.eof = true
				return false
			}
			s.chunk = chunk
			continue
		}
		it := s.chunk[0]
		s.chunk = s.chunk[1:]
		if it.err != nil {
			s.err = it.err
			return false
		}
		s.lastRow = it.row
		s.n++
		if it.rej != nil {
			s.rejects = append(s.rejects, *it.rej)
			continue
		}
		s.valid++
		s.values = it.values
		return true
	}
}

func (s *stageSource) Values() ([]any, error) { return s.values, nil }
func (s *stageSource) Err() error             { return s.err }

// skuFieldOf is the feed field that holds SKUs, for reject reports.
func skuFieldOf(plan wf.Plan) string {
	if f, ok := plan.Mapping["sku"]; ok {
		return f
	}
	return product.DefaultMapping(plan.Format)["sku"]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
