// Package harvest implements the harvest module's activities: all the I/O of
// a harvest (fetching feeds, parsing, staging, merging into PostgreSQL).
// Every activity is idempotent and safe to retry; long ones heartbeat a
// checkpoint that a retry resumes from. Orchestration lives in
// contextworker/workflows/harvest, whose types these activities share.
package harvest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/secret"
	"contextworker/modules/harvest/feed"
	gardener "contextworker/workflows/gardener"
	wf "contextworker/workflows/harvest"
)

// Activities holds the harvest activities' dependencies.
type Activities struct {
	DB     *pgxpool.Pool
	Config *Config
	Logger *slog.Logger
	// UIURL and Namespace build Web UI links in reports.
	UIURL     string
	Namespace string
	// Env resolves secret references; nil means the process environment.
	Env secret.Lookup
	// Temporal starts or signals the gardener after a harvest.
	Temporal client.Client
	// Metrics counts rows and runs; nil records nothing.
	Metrics *Metrics

	fetch *fetcher
}

// New returns the activities for cfg.
func New(db *pgxpool.Pool, cfg *Config, logger *slog.Logger) *Activities {
	return &Activities{DB: db, Config: cfg, Logger: logger,
		fetch: newFetcher(cfg.Network, cfg.HTTPTimeout, cfg.MaxFeedBytes)}
}

// Begin resolves the supplier's configuration (plus the input's overrides)
// into a Plan and records the run in harvest_runs. A retry returns the same
// plan: the run id is the workflow's first run id, stable across retries and
// continue-as-new.
func (a *Activities) Begin(ctx context.Context, in wf.Input) (wf.Plan, error) {
	info := activity.GetInfo(ctx)
	res, err := a.Config.Resolve(in)
	if err != nil {
		return wf.Plan{}, nonRetryable(ErrTypeBadConfig, "%v", err)
	}
	f, mapping, currency := res.Feed, res.Mapping, res.Currency
	c := a.Config
	plan := wf.Plan{
		RunID:                        info.WorkflowExecution.RunID,
		WorkflowID:                   info.WorkflowExecution.ID,
		TenantID:                     in.TenantID,
		SupplierCode:                 in.SupplierCode,
		FeedURL:                      f.URL,
		Format:                       strings.ToLower(f.Format),
		Delimiter:                    f.Delimiter,
		RecordElement:                f.RecordElement,
		RecordPath:                   f.RecordPath,
		Encoding:                     f.Encoding,
		Gzip:                         f.Gzip,
		MaxFieldBytes:                c.MaxFieldBytes,
		MaxRecordBytes:               c.MaxRecordBytes,
		MaxDepth:                     c.MaxDepth,
		Sheet:                        f.Sheet,
		Mapping:                      mapping,
		DefaultCurrency:              strings.ToUpper(currency),
		Conditional:                  !in.Force,
		Tuning:                       c.Tuning,
		MaxDeactivateShareUndeclared: &c.MaxDeactivateShareUndeclared,
	}
	if a.UIURL != "" {
		plan.UIURL = uiLink(a.UIURL, a.Namespace, plan.WorkflowID, plan.RunID)
	}
	// Begin runs once per run: its first attempt's run id names the run.
	// (Begin is the workflow's first activity, so RunID is the first run's.)
	// logs_changes: this worker's merges log what they change (see
	// logChangesSQL), which lets gardener runs trust the log.
	_, err = a.DB.Exec(ctx, `INSERT INTO harvest_runs (run_id, workflow_id, tenant_id, supplier_code, status, feed_url, format, logs_changes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, true) ON CONFLICT (run_id) DO NOTHING`,
		plan.RunID, plan.WorkflowID, plan.TenantID, plan.SupplierCode, wf.StatusRunning, wf.RedactURL(plan.FeedURL), plan.Format)
	if err != nil {
		return wf.Plan{}, fmt.Errorf("begin: record run: %w", err)
	}
	return plan, nil
}

// headers resolves a configured supplier's HTTP headers.
func (a *Activities) headers(plan wf.Plan) (map[string]string, error) {
	sup, ok := a.Config.Supplier(plan.TenantID, plan.SupplierCode)
	if !ok || sup.Feed.URL != plan.FeedURL {
		return nil, nil
	}
	out := make(map[string]string, len(sup.Feed.Headers)+1)
	for k, h := range sup.Feed.Headers {
		v, err := h.Resolve(a.Env)
		if err != nil {
			return nil, nonRetryable(ErrTypeBadConfig, "feed header %s: %v", k, err)
		}
		out[k] = v
	}
	if ba := sup.Feed.BasicAuth; ba != nil {
		pw, err := ba.Password.Resolve(a.Env)
		if err != nil {
			return nil, nonRetryable(ErrTypeBadConfig, "feed basic_auth password: %v", err)
		}
		out["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(ba.Username+":"+pw))
	}
	if !sup.Feed.BearerToken.IsZero() {
		tok, err := sup.Feed.BearerToken.Resolve(a.Env)
		if err != nil {
			return nil, nonRetryable(ErrTypeBadConfig, "feed bearer_token: %v", err)
		}
		out["Authorization"] = "Bearer " + tok
	}
	return out, nil
}

func feedOptions(plan wf.Plan) (feed.Options, error) {
	f, err := feed.ParseFormat(plan.Format)
	if err != nil {
		return feed.Options{}, nonRetryable(ErrTypeBadConfig, "%v", err)
	}
	o := feed.Options{Format: f, RecordElement: plan.RecordElement, RecordPath: plan.RecordPath, Sheet: plan.Sheet,
		Encoding: plan.Encoding, MaxFieldBytes: plan.MaxFieldBytes, MaxRecordBytes: plan.MaxRecordBytes, MaxDepth: plan.MaxDepth}
	if plan.Delimiter != "" {
		o.Delimiter = []rune(plan.Delimiter)[0]
	}
	return o, nil
}

// Finish records the run's outcome and report, remembers the feed's
// validators after a success, and drops the staging table. Idempotent.
func (a *Activities) Finish(ctx context.Context, req wf.FinishRequest) (wf.Report, error) {
	plan := req.Plan
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE harvest_runs r SET
				status = $2, error = NULLIF($3, ''), finished_at = coalesce(r.finished_at, now()),
				inserted = coalesce(p.inserted, 0), updated = coalesce(p.updated, 0),
				unchanged = CASE WHEN r.merged_at IS NULL THEN 0 ELSE r.rows_valid - coalesce(p.duplicates + p.inserted + p.updated, 0) END,
				rows_duplicate = coalesce(p.duplicates, 0)
			FROM (SELECT sum(inserted) AS inserted, sum(updated) AS updated, sum(duplicates) AS duplicates
			      FROM harvest_parts WHERE run_id = $1) p
			WHERE r.run_id = $1`, plan.RunID, req.Status, req.Error); err != nil {
			return err
		}
		if req.Status == wf.StatusSucceeded {
			if _, err := tx.Exec(ctx, `INSERT INTO harvest_feeds (tenant_id, supplier_code, feed_url, etag, last_modified, run_id)
				SELECT tenant_id, supplier_code, $2, etag, last_modified, run_id FROM harvest_runs WHERE run_id = $1
				ON CONFLICT (tenant_id, supplier_code) DO UPDATE SET feed_url = excluded.feed_url, etag = excluded.etag,
					last_modified = excluded.last_modified, run_id = excluded.run_id, updated_at = now()`, plan.RunID, plan.FeedURL); err != nil {
				return err
			}
		}
		// A first load that never became the supplier's partition goes too.
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+stageTable(plan.RunID)+`, `+loadTable(plan.RunID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM harvest_missing WHERE run_id = $1`, plan.RunID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM harvest_stage_progress WHERE run_id = $1`, plan.RunID)
		return err
	})
	if err != nil {
		return wf.Report{}, fmt.Errorf("finish: %w", err)
	}
	a.Metrics.finished(req.Status)
	return a.report(ctx, plan)
}

func (a *Activities) report(ctx context.Context, plan wf.Plan) (wf.Report, error) {
	r := wf.Report{UIURL: plan.UIURL}
	var errMsg *string
	var finished *time.Time
	err := a.DB.QueryRow(ctx, `SELECT run_id, workflow_id, tenant_id, supplier_code, status, error, feed_url, format,
			feed_bytes, rows_read, rows_valid, rows_rejected, rows_duplicate, inserted, updated, unchanged, deactivated,
			stage_attempts, resumed_from_row, checkpoint_lost, length_undeclared, started_at, finished_at
		FROM harvest_runs WHERE run_id = $1`, plan.RunID).Scan(
		&r.RunID, &r.WorkflowID, &r.TenantID, &r.SupplierCode, &r.Status, &errMsg, &r.FeedURL, &r.Format,
		&r.FeedBytes, &r.RowsRead, &r.Valid, &r.Rejected, &r.Duplicates, &r.Inserted, &r.Updated, &r.Unchanged, &r.Deactivated,
		&r.StageAttempt, &r.ResumedFrom, &r.CheckpointLost, &r.LengthUndeclared, &r.StartedAt, &finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, nonRetryable(ErrTypeBadConfig, "run %s is not recorded", plan.RunID)
	}
	if err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	if errMsg != nil {
		r.Error = *errMsg
	}
	// rows_valid counts rows that passed validation, superseded duplicates
	// included; the report counts those as rejected.
	r.Valid -= r.Duplicates
	r.Rejected += r.Duplicates
	if finished != nil {
		r.FinishedAt = *finished
	}
	r.RejectsQuery = fmt.Sprintf("SELECT row_no, sku, reason, raw FROM harvest_rejects WHERE run_id = '%s' ORDER BY row_no", r.RunID)
	return r, nil
}

// NotifyGardener signals the tenant's gardener that products changed,
// starting it when it is not running (signal-with-start). Idempotent in
// effect: an extra signal only asks for one more pass, which writes
// nothing when nothing changed.
func (a *Activities) NotifyGardener(ctx context.Context, plan wf.Plan) error {
	if a.Temporal == nil {
		return nonRetryable(ErrTypeBadConfig, "no Temporal client to notify the gardener")
	}
	id := gardener.WorkflowID(plan.TenantID)
	_, err := a.Temporal.SignalWithStartWorkflow(ctx, id, gardener.SignalProductsChanged,
		gardener.ProductsChanged{SupplierCode: plan.SupplierCode, HarvestRunID: plan.RunID},
		client.StartWorkflowOptions{
			ID: id, TaskQueue: gardener.TaskQueue,
			StaticSummary: "gardener " + plan.TenantID + " (after harvest " + plan.SupplierCode + ")",
			TypedSearchAttributes: temporal.NewSearchAttributes(
				wf.SearchTenant.ValueSet(plan.TenantID), wf.SearchModule.ValueSet("gardener")),
		}, gardener.WorkflowName, gardener.Input{TenantID: plan.TenantID})
	if err != nil {
		return fmt.Errorf("notify gardener %s: %w", id, err)
	}
	return nil
}

// uiLink links a run in the Temporal Web UI. Each path segment is escaped:
// a workflow id holds slashes (harvest/<tenant>/<supplier>), and unescaped
// they send the UI to its 404 page.
func uiLink(base, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(base, "/"),
		url.PathEscape(namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}
