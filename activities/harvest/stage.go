package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/heartbeat"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// YML params reach product attributes only through Pairs.
var _ product.Enumerator = feed.Record{}

// The staging table holds the rows a re-harvest must write (new or
// changed products), partitioned by merge partition, so each Merge scans
// only its own child table and no index has to be built after loading.
// Children are UNLOGGED: staging is rebuilt from the feed after a database
// crash anyway (see harvest_stage_progress). Rows of stored, unchanged
// products are not staged at all, except slim (SKU only, unchanged = true)
// when their SKU occurs twice in the feed.
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

// A supplier's first load skips staging: rows go straight into a table
// shaped like products (plus feed_row, for duplicates), with no index, that
// sealing indexes and attaches as the supplier's partition of products.
// It is logged: it becomes the catalogue. Its defaults fill in the columns
// that are the same on every row; a check constraint that matches the
// partition bounds lets the attach skip its validation scan.
const loadDDL = `CREATE TABLE IF NOT EXISTS %[1]s (LIKE products INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
	feed_row bigint NOT NULL, CONSTRAINT products_scope CHECK (tenant_id = %[2]s AND supplier_code = %[3]s));
ALTER TABLE %[1]s ALTER tenant_id SET DEFAULT %[2]s, ALTER supplier_code SET DEFAULT %[3]s,
	ALTER last_run_id SET DEFAULT %[4]s, ALTER first_seen SET DEFAULT %[5]s, ALTER last_seen SET DEFAULT %[5]s`

// loadTable names a first load's table.
func loadTable(runID string) string {
	return pgx.Identifier{"harvest_load_" + strings.TrimPrefix(strings.Trim(stageTable(runID), `"`), "harvest_stage_")}.Sanitize()
}

func (a *Activities) createStage(ctx context.Context, plan wf.Plan, firstLoad bool) error {
	table := stageTable(plan.RunID)
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if firstLoad {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			_, err := tx.Exec(ctx, fmt.Sprintf(loadDDL, loadTable(plan.RunID), literal(plan.TenantID), literal(plan.SupplierCode),
				literal(plan.RunID), literal(now)))
			return err
		}
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

// literal quotes s as an SQL string literal (standard_conforming_strings).
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// checkpoint is the Stage activity's durable progress (harvest_stage_progress).
type checkpoint struct {
	// Rows: every feed row up to here is staged (done.prefix).
	Rows     int64 `json:"rows_consumed"`
	Valid    int64 `json:"valid"`
	Rejected int64 `json:"rejected"`
	Bytes    int64 `json:"bytes"`
	Attempts int   `json:"attempts"`
	Resumed  int64 `json:"resumed_from"`
	v        validators
	done     doneRows
}

// Stage streams the feed into PostgreSQL, BatchSize rows per transaction:
// a supplier's first load into its future partition of products, any later
// harvest into the run's staging table (only the rows that change
// something). Each transaction also writes that batch's rejects and the
// checkpoint, so staging is exactly-once: a retry (after a crash, say)
// fetches the feed again, reads the rows the checkpoint covers without
// writing them again, and goes on from there. If the feed changed in
// between, staging restarts from zero.
func (a *Activities) Stage(ctx context.Context, plan wf.Plan) (wf.StageResult, error) {
	log := activity.GetLogger(ctx)
	cp, found, err := a.loadCheckpoint(ctx, plan.RunID)
	if err != nil {
		return wf.StageResult{}, err
	}
	if sealed, res, err := a.sealed(ctx, plan); err != nil || sealed {
		return res, err
	}
	firstLoad, err := a.firstLoad(ctx, plan, found)
	if err != nil {
		return wf.StageResult{}, err
	}
	if err := a.createStage(ctx, plan, firstLoad); err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: create table: %w", err)
	}
	if !found {
		if err := a.resetStage(ctx, plan, firstLoad); err != nil {
			return wf.StageResult{}, err
		}
	}
	cp.Attempts++
	cp.Resumed = cp.Rows
	if cp.started() {
		log.Info("resuming staging from checkpoint", "rows_consumed", cp.Rows, "attempt", cp.Attempts)
	}

	var prev *validators
	if plan.Conditional && !cp.started() {
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
	if cp.started() && !cp.v.same(fetched.Validators) {
		log.Warn("feed changed since the checkpoint was written; staging again from the start")
		if err := a.resetStage(ctx, plan, firstLoad); err != nil {
			return wf.StageResult{}, err
		}
		cp = checkpoint{Attempts: cp.Attempts}
	}
	cp.v = fetched.Validators
	if err := saveCheckpoint(ctx, a.DB, plan.RunID, cp); err != nil {
		return wf.StageResult{}, err
	}

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
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n.Load(), fetched.Validators.Length)
	}
	sniffed, err := feed.Sniff(&limitReader{r: unpacked, max: a.Config.MaxUnpackedBytes, what: "max_unpacked_bytes"})
	if err != nil {
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n.Load(), fetched.Validators.Length)
	}
	reader, err := feed.NewReader(sniffed, opts)
	if err != nil {
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n.Load(), fetched.Validators.Length)
	}
	defer reader.Close()

	var existing *existingSet
	if !firstLoad {
		if existing, err = a.loadExisting(ctx, plan); err != nil {
			return wf.StageResult{}, err
		}
	}
	target, columns := stageTable(plan.RunID), stageColumns
	if firstLoad {
		target, columns = loadTable(plan.RunID), loadColumns
	}
	copyStart := time.Now()
	pctx, stopProducer := context.WithCancel(ctx)
	defer stopProducer()
	prod, err := startProducer(pctx, reader, func() (*product.Normalizer, error) { return product.NewNormalizer(normOpts) }, producerOptions{
		parts: uint32(plan.Partitions), done: cp.done, skuField: skuFieldOf(plan), load: firstLoad, existing: existing,
	})
	if err != nil {
		return wf.StageResult{}, nonRetryable(ErrTypeBadConfig, "normalizer: %v", err)
	}
	var mu sync.Mutex
	live := cp
	progress := func(b batchSource) checkpoint {
		mu.Lock()
		defer mu.Unlock()
		live.Rows = max(live.Rows, b.hi)
		live.Valid += b.valid
		live.Rejected += int64(len(b.rejects))
		return live
	}
	if err := a.copyBatches(ctx, plan.RunID, target, columns, prod, cp.Rows, a.Config.BatchSize, a.Config.StageStreams, progress); err != nil {
		return wf.StageResult{}, classifyFeedErr(ctx, err, raw.n.Load(), fetched.Validators.Length)
	}
	attempts, resumed := cp.Attempts, cp.Resumed
	if cp, _, err = a.loadCheckpoint(ctx, plan.RunID); err != nil {
		return wf.StageResult{}, err
	}
	cp.Attempts, cp.Resumed, cp.Bytes, cp.v = attempts, resumed, raw.n.Load(), fetched.Validators
	log.Info("staged feed", "rows", cp.Rows, "valid", cp.Valid, "rejected", cp.Rejected, "bytes", cp.Bytes,
		"first_load", firstLoad, "took", time.Since(copyStart).String())
	sealStart := time.Now()
	defer heartbeat.KeepAlive(ctx, cp)()
	var res wf.StageResult
	if firstLoad {
		res, err = a.sealLoad(ctx, plan, cp)
	} else {
		// The producer replays the rows an earlier attempt staged, so its
		// duplicate flag covers the whole feed.
		res, err = a.sealStage(ctx, plan, cp, existing, prod.dups.Load())
	}
	log.Info("sealed staging", "took", time.Since(sealStart).String())
	return res, err
}

// firstLoad reports whether this run loads the supplier's first products:
// decided once per run, when staging starts from nothing, and recorded.
func (a *Activities) firstLoad(ctx context.Context, plan wf.Plan, resuming bool) (bool, error) {
	var first bool
	var err error
	if resuming {
		err = a.DB.QueryRow(ctx, `SELECT first_load FROM harvest_runs WHERE run_id = $1`, plan.RunID).Scan(&first)
	} else {
		err = a.DB.QueryRow(ctx, `UPDATE harvest_runs SET first_load = NOT EXISTS (SELECT 1 FROM products WHERE tenant_id = $2 AND supplier_code = $3)
			WHERE run_id = $1 RETURNING first_load`, plan.RunID, plan.TenantID, plan.SupplierCode).Scan(&first)
	}
	if err != nil {
		return false, fmt.Errorf("stage: first load: %w", err)
	}
	return first, nil
}

// sealed returns the recorded result when an earlier attempt sealed the
// stage (and crashed before reporting it).
func (a *Activities) sealed(ctx context.Context, plan wf.Plan) (bool, wf.StageResult, error) {
	var done bool
	var res wf.StageResult
	err := a.DB.QueryRow(ctx, `SELECT staged_at IS NOT NULL, feed_bytes, rows_read, rows_valid, rows_rejected, stage_attempts,
			resumed_from_row, rows_read = 0 AND feed_bytes = 0, first_load AND active_before IS NOT NULL
		FROM harvest_runs WHERE run_id = $1`, plan.RunID).Scan(&done, &res.Bytes, &res.RowsRead, &res.Valid, &res.Rejected,
		&res.Attempts, &res.ResumedFrom, &res.Unchanged, &res.Loaded)
	if err != nil {
		return false, wf.StageResult{}, fmt.Errorf("stage: %w", err)
	}
	return done, res, nil
}

// sealStage records the staging counts on the run, with the supplier's
// active products the feed did not name (harvest_missing). Duplicate SKUs
// (the last occurrence in the feed wins) are rejected by the merges,
// partition by partition, and counted there.
func (a *Activities) sealStage(ctx context.Context, plan wf.Plan, cp checkpoint, existing *existingSet, dups bool) (wf.StageResult, error) {
	res := cp.result()
	missing, err := a.missingSKUs(ctx, plan, existing.missing())
	if err != nil {
		return wf.StageResult{}, err
	}
	err = pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM harvest_missing WHERE run_id = $1`, plan.RunID); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"harvest_missing"}, []string{"run_id", "sku"},
			pgx.CopyFromSlice(len(missing), func(i int) ([]any, error) { return []any{plan.RunID, missing[i]}, nil })); err != nil {
			return err
		}
		return recordStaged(ctx, tx, plan, cp, dups, existing.len(), int64(len(missing)))
	})
	if err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: seal: %w", err)
	}
	return res, nil
}

// result is what staging found, as the workflow sees it.
func (cp checkpoint) result() wf.StageResult {
	return wf.StageResult{Bytes: cp.Bytes, RowsRead: cp.Valid + cp.Rejected, Valid: cp.Valid, Rejected: cp.Rejected,
		Attempts: cp.Attempts, ResumedFrom: cp.Resumed}
}

// recordStaged writes staging's counts to the run and marks it staged, in
// the sealing transaction.
func recordStaged(ctx context.Context, tx pgx.Tx, plan wf.Plan, cp checkpoint, dups bool, activeBefore, missing int64) error {
	_, err := tx.Exec(ctx, `UPDATE harvest_runs SET feed_bytes = $2, rows_read = $3, rows_valid = $4, rows_rejected = $5,
			may_have_duplicates = $6, stage_attempts = $7, resumed_from_row = $8, etag = $9, last_modified = $10,
			staged_at = clock_timestamp(), active_before = $11, missing = $12
		WHERE run_id = $1`, plan.RunID, cp.Bytes, cp.Valid+cp.Rejected, cp.Valid, cp.Rejected, dups,
		cp.Attempts, cp.Resumed, nullable(cp.v.ETag), nullable(cp.v.LastModified), activeBefore, missing)
	return err
}

// missingSKUs resolves the keys of stored products the feed did not name
// into their SKUs.
func (a *Activities) missingSKUs(ctx context.Context, plan wf.Plan, keys map[skuKeys]struct{}) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := a.DB.Query(ctx, `SELECT sku FROM products WHERE tenant_id = $1 AND supplier_code = $2 AND active`, plan.TenantID, plan.SupplierCode)
	if err != nil {
		return nil, fmt.Errorf("stage: missing products: %w", err)
	}
	defer rows.Close()
	var out []string
	var sku string
	for rows.Next() {
		if err := rows.Scan(&sku); err != nil {
			return nil, err
		}
		if _, ok := keys[keysOf(sku)]; ok {
			out = append(out, sku)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stage: missing products: %w", err)
	}
	return out, nil
}

// supersededSQL rejects every occurrence of a SKU in a first load but the
// last, and deleteSupersededSQL removes them.
const (
	supersededSQL = `INSERT INTO harvest_rejects (run_id, row_no, sku, reason, raw)
	SELECT $1, feed_row, sku, 'sku: duplicate, superseded by row ' || keep, '' FROM (
		SELECT feed_row, sku, max(feed_row) OVER (PARTITION BY sku) AS keep FROM %s) d
	WHERE feed_row < keep ON CONFLICT (run_id, row_no) DO NOTHING`
	deleteSupersededSQL = `DELETE FROM %[1]s l USING (SELECT sku, max(feed_row) AS keep FROM %[1]s GROUP BY sku HAVING count(*) > 1) d
	WHERE l.sku = d.sku AND l.feed_row < d.keep`
)

// sealLoad makes a first load the supplier's partition of products, in one
// transaction: superseded duplicates out, the primary key built in one
// pass, the helper column and defaults dropped, then renamed and attached.
// Until then no reader sees any of it; a failed run drops the table.
func (a *Activities) sealLoad(ctx context.Context, plan wf.Plan, cp checkpoint) (wf.StageResult, error) {
	res := cp.result()
	res.Loaded = true
	load := loadTable(plan.RunID)
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var tenantPart, leaf string
		if err := tx.QueryRow(ctx, `SELECT products_tenant_partition($1), products_supplier_partition($1, $2)`,
			plan.TenantID, plan.SupplierCode).Scan(&tenantPart, &leaf); err != nil {
			return err
		}
		// A generous sort memory for the one index build (the server's
		// default, 64 MB, spills a million keys to disk); the attach waits
		// for readers of the tenant's default partition, but not forever.
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL lock_timeout = '30s'`); err != nil {
			return err
		}
		// Duplicate SKUs make the primary key fail; only then are the
		// superseded rows rejected and removed (the feed's last one wins),
		// and the key built again.
		pkey := fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (sku, supplier_code, tenant_id)`, load, pgx.Identifier{leaf + "_pkey"}.Sanitize())
		var duplicates int64
		if _, err := tx.Exec(ctx, `SAVEPOINT pkey`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pkey); err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
				return fmt.Errorf("primary key: %w", err)
			}
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT pkey`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(supersededSQL, load), plan.RunID); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, fmt.Sprintf(deleteSupersededSQL, load))
			if err != nil {
				return err
			}
			duplicates = tag.RowsAffected()
			if _, err := tx.Exec(ctx, pkey); err != nil {
				return fmt.Errorf("primary key: %w", err)
			}
		}
		leafID := pgx.Identifier{leaf}.Sanitize()
		for _, stmt := range []string{
			fmt.Sprintf(`ALTER TABLE %s DROP COLUMN feed_row, ALTER tenant_id DROP DEFAULT, ALTER supplier_code DROP DEFAULT,
				ALTER last_run_id DROP DEFAULT, ALTER first_seen DROP DEFAULT, ALTER last_seen DROP DEFAULT`, load),
			fmt.Sprintf(`ALTER TABLE %s RENAME TO %s`, load, leafID),
			fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES IN (%s)`, pgx.Identifier{tenantPart}.Sanitize(), leafID, literal(plan.SupplierCode)),
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", strings.Join(strings.Fields(stmt)[:3], " "), err)
			}
		}
		// Part -1 holds a first load's counts (it has no merges).
		if _, err := tx.Exec(ctx, `INSERT INTO harvest_parts (run_id, part, inserted, updated, unchanged, duplicates, slim)
			VALUES ($1, -1, $2, 0, 0, $3, 0)`, plan.RunID, cp.Valid-duplicates, duplicates); err != nil {
			return err
		}
		// Its duplicates are gone already: nothing for merges to do.
		return recordStaged(ctx, tx, plan, cp, false, 0, 0)
	})
	if err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: seal first load: %w", err)
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

func (a *Activities) resetStage(ctx context.Context, plan wf.Plan, firstLoad bool) error {
	table := stageTable(plan.RunID)
	if firstLoad {
		table = loadTable(plan.RunID)
	}
	return pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE `+table); err != nil {
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
	err := a.DB.QueryRow(ctx, `SELECT rows_consumed, rows_valid, rows_rejected, feed_bytes, etag, last_modified, length, attempts
		FROM harvest_stage_progress WHERE run_id = $1`, runID).Scan(&cp.Rows, &cp.Valid, &cp.Rejected, &cp.Bytes, &etag, &lm, &length, &cp.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("stage: load checkpoint: %w", err)
	}
	cp.v = validators{ETag: deref(etag), LastModified: deref(lm), Length: derefInt(length)}
	if cp.done, err = loadDone(ctx, a.DB, runID); err != nil {
		return cp, false, err
	}
	if !cp.started() && cp.Rows > 0 {
		cp.done.prefix = cp.Rows // written by a worker that staged in feed order only
	}
	cp.Rows = cp.done.prefix
	return cp, true, nil
}

// started reports whether an earlier attempt staged any batch.
func (cp checkpoint) started() bool { return cp.done.prefix > 0 || len(cp.done.ranges) > 0 }

// execer is a pool or a transaction.
type execer interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}

// saveCheckpoint writes the whole checkpoint (a batch adds to it with
// commitBatch instead).
func saveCheckpoint(ctx context.Context, db execer, runID string, cp checkpoint) error {
	_, err := db.Exec(ctx, `INSERT INTO harvest_stage_progress (run_id, rows_consumed, rows_valid, rows_rejected, feed_bytes, etag, last_modified, length, attempts, resumed_from, done)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::int8multirange)
		ON CONFLICT (run_id) DO UPDATE SET rows_consumed = excluded.rows_consumed, rows_valid = excluded.rows_valid,
			rows_rejected = excluded.rows_rejected, feed_bytes = excluded.feed_bytes, etag = excluded.etag,
			last_modified = excluded.last_modified, length = excluded.length, attempts = excluded.attempts,
			resumed_from = excluded.resumed_from, done = excluded.done`,
		runID, cp.Rows, cp.Valid, cp.Rejected, cp.Bytes, nullable(cp.v.ETag), nullable(cp.v.LastModified), cp.v.Length, cp.Attempts, cp.Resumed,
		cp.done.literal())
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
