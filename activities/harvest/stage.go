package harvest

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"

	"contextworker/internal/heartbeat"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// YML params reach product attributes only through Pairs, or through
// PairAt for the producer's *feed.Record.
var (
	_ product.Enumerator = feed.Record{}
	_ product.Indexed    = (*feed.Record)(nil)
)

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
	// Heartbeat from the start, not only after batches: an attempt that
	// waits on a feed must learn that it was canceled or timed out (the
	// answer to a heartbeat), and its details are the live counts.
	live := &liveProgress{}
	defer heartbeat.KeepAlive(ctx, live)()
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
	// The supplier's stored products load while the feed is opened.
	loaded := a.startLoadExisting(ctx, plan, firstLoad)
	defer loaded.cancel()
	if err := a.createStage(ctx, plan, firstLoad); err != nil {
		return wf.StageResult{}, fmt.Errorf("stage: create table: %w", err)
	}
	if !found {
		if err := a.resetStage(ctx, plan, firstLoad); err != nil {
			return wf.StageResult{}, err
		}
	}
	if cp.Attempts, cp.lost, err = a.countAttempt(ctx, plan.RunID, found); err != nil {
		return wf.StageResult{}, err
	}
	if cp.lost && !found {
		log.Warn("the staging checkpoint was lost (a database crash empties it); staging again from the first row", "attempt", cp.Attempts)
	}
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
		return wf.StageResult{}, a.classifyFeedErr(ctx, err, nil)
	}
	if fetched.NotModified {
		log.Info("feed not modified since the last successful run")
		_, err := a.DB.Exec(ctx, `UPDATE harvest_runs SET staged_at = now() WHERE run_id = $1`, plan.RunID)
		return wf.StageResult{Unchanged: true, Attempts: cp.Attempts}, err
	}
	src := newBody(ctx, fetched.Body, fetched.Validators.Length, a.Config.HTTPTimeout, a.Config.MinFeedRate)
	defer src.Close()
	if cp.started() && !cp.v.same(fetched.Validators) {
		log.Warn("feed changed since the checkpoint was written; staging again from the start")
		if err := a.resetStage(ctx, plan, firstLoad); err != nil {
			return wf.StageResult{}, err
		}
		cp = checkpoint{Attempts: cp.Attempts, lost: cp.lost}
	}
	cp.v = fetched.Validators
	live.set(cp)
	if err := saveCheckpoint(ctx, a.DB, plan.RunID, cp); err != nil {
		return wf.StageResult{}, err
	}

	opts, err := feedOptions(plan)
	if err != nil {
		return wf.StageResult{}, err
	}
	normOpts := product.Options{Mapping: product.Mapping(plan.Mapping), Format: plan.Format, DefaultCurrency: plan.DefaultCurrency}
	norm, err := product.NewNormalizer(normOpts)
	if err != nil {
		return wf.StageResult{}, nonRetryable(ErrTypeBadConfig, "normalizer: %v", err)
	}
	raw := &limitReader{r: src, max: a.Config.MaxFeedBytes, what: "max_feed_bytes"}
	packed := bufio.NewReader(raw)
	gz, err := isGzip(packed)
	if err != nil {
		return wf.StageResult{}, a.classifyFeedErr(ctx, err, src)
	}
	if plan.Gzip && !gz {
		return wf.StageResult{}, nonRetryable(ErrTypeFeedBroken, "feed is not gzip-compressed although the supplier's feed.gzip says it is")
	}
	// gzip and formats with an end marker tell a cut feed from a whole
	// one; a declared length does too. Otherwise a feed cut at a record
	// boundary looks complete: deactivation then has a stricter guard.
	undeclared := fetched.Validators.Length < 0 && !gz && !opts.Format.HasEndMarker()
	unpacked, err := feed.Decompress(packed)
	if err != nil {
		return wf.StageResult{}, a.classifyFeedErr(ctx, err, src)
	}
	if gz {
		// Unpacked beside the parsing (readAhead); src.Close, deferred
		// before, ends its goroutine's last Read.
		ahead := newReadAhead(unpacked)
		defer ahead.Close()
		unpacked = ahead
	}
	sniffed, err := feed.Sniff(&limitReader{r: unpacked, max: a.Config.MaxUnpackedBytes, what: "max_unpacked_bytes"})
	if err != nil {
		return wf.StageResult{}, a.classifyFeedErr(ctx, err, src)
	}
	reader, err := feed.NewReader(sniffed, opts)
	if err != nil {
		return wf.StageResult{}, a.classifyFeedErr(ctx, err, src)
	}
	defer reader.Close()

	existing, err := loaded.wait()
	if err != nil {
		return wf.StageResult{}, err
	}
	target, columns := stageTable(plan.RunID), stageColumns
	if firstLoad {
		// The same columns on every attempt: they follow from the plan.
		target, columns = loadTable(plan.RunID), loadColumnsOf(norm.MakesAttributes())
	}
	copyStart := time.Now()
	pctx, stopProducer := context.WithCancel(ctx)
	defer stopProducer()
	prod, err := startProducer(pctx, reader, func() (*product.Normalizer, error) { return product.NewNormalizer(normOpts) }, producerOptions{
		parts: uint32(plan.Partitions), done: cp.done, skuField: skuFieldOf(plan), load: firstLoad, existing: existing,
		noAttributes: !norm.MakesAttributes(),
	})
	if err != nil {
		return wf.StageResult{}, nonRetryable(ErrTypeBadConfig, "normalizer: %v", err)
	}
	progress := func(b batchSource) checkpoint {
		a.Metrics.batch(b.valid, int64(len(b.rejects)))
		return live.add(b)
	}
	stopProgress := a.reportProgress(ctx, live, raw.n.Load)
	err = a.copyBatches(ctx, plan.RunID, target, columns, prod, cp.Rows, a.Config.BatchSize, a.Config.StageStreams, progress)
	stopProgress()
	if err != nil {
		return wf.StageResult{}, a.classifyFeedErr(ctx, err, src)
	}
	attempts, resumed, lost := cp.Attempts, cp.Resumed, cp.lost
	if cp, _, err = a.loadCheckpoint(ctx, plan.RunID); err != nil {
		return wf.StageResult{}, err
	}
	cp.Attempts, cp.Resumed, cp.Bytes, cp.v = attempts, resumed, raw.n.Load(), fetched.Validators
	cp.undeclared, cp.lost = undeclared, lost
	log.Info("staged feed", "rows", cp.Rows, "valid", cp.Valid, "rejected", cp.Rejected, "bytes", cp.Bytes,
		"first_load", firstLoad, "took", time.Since(copyStart).String())
	sealStart := time.Now()
	var res wf.StageResult
	if firstLoad {
		res, err = a.sealLoad(ctx, plan, cp, prod.dupSKUs)
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

// kept is truncate's result copied: a reject's SKU and excerpt may be
// slices of the record's whole text (a CSV row, an XML record: up to
// max_record_bytes), which a reject, held until its batch is written,
// must not keep.
func kept(s string, n int) string { return strings.Clone(truncate(s, n)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
