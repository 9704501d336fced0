// Package gardener implements the gardener module's activities: reading
// changed products in keyset batches, running the enricher pipeline on
// them, and writing the results with their provenance. Every activity is
// idempotent and safe to retry: a batch's results, its tallies and the
// run's checkpoint are committed in one transaction. Orchestration lives in
// contextworker/workflows/gardener, whose types these activities share.
package gardener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/heartbeat"
	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/category"
	wf "contextworker/workflows/gardener"
)

// Error types of non-retryable failures.
const (
	ErrTypeConfigChanged = "EnricherConfigChanged"
	ErrTypeUnknownRun    = "UnknownRun"
)

// Activities holds the gardener activities' dependencies.
type Activities struct {
	DB       *pgxpool.Pool
	Config   *Config
	Logger   *slog.Logger
	Pipeline *enrich.Pipeline
	// UIURL and Namespace build Web UI links in reports.
	UIURL     string
	Namespace string
	// Metrics counts products and fields; nil records nothing.
	Metrics *Metrics
}

// New builds the configured enricher pipeline and returns the activities.
func New(db *pgxpool.Pool, cfg *Config, logger *slog.Logger, deps enrich.Deps) (*Activities, error) {
	p, err := enrich.Default().Build(cfg.Specs(), deps)
	if err != nil {
		return nil, fmt.Errorf("gardener: enrichers: %w", err)
	}
	return &Activities{DB: db, Config: cfg, Logger: logger, Pipeline: p}, nil
}

// uiURL links a workflow in the Temporal Web UI, or "" when no UI is
// configured. The id is one escaped path segment: "gardener/acme" holds a
// slash, which the UI would read as two segments and answer with its 404.
func uiURL(base, namespace, workflowID string) string {
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimRight(base, "/"), url.PathEscape(namespace), url.PathEscape(workflowID))
}

func (a *Activities) versions() []wf.EnricherVersion {
	var out []wf.EnricherVersion
	for _, s := range a.Pipeline.Steps() {
		out = append(out, wf.EnricherVersion{Name: s.Name, Version: s.Version})
	}
	return out
}

// checkVersions refuses to go on with enrichers other than those the run
// began with (a worker restarted with edited rules): mixing them would
// record versions that do not match the values.
func (a *Activities) checkVersions(plan wf.Plan) error {
	if got := a.versions(); !slices.Equal(got, plan.Enrichers) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the enricher configuration changed during run %s (began with %v, worker has %v); start a new run", plan.RunID, plan.Enrichers, got),
			ErrTypeConfigChanged, nil)
	}
	return nil
}

// Begin records the run and fixes its window: from the scope's watermark
// (less the overlap) to now, and which enrichers are stale. A retry
// returns the recorded plan unchanged.
func (a *Activities) Begin(ctx context.Context, in wf.Input) (wf.Plan, error) {
	info := activity.GetInfo(ctx)
	c := a.Config
	plan := wf.Plan{
		RunID: info.WorkflowExecution.RunID, WorkflowID: info.WorkflowExecution.ID,
		TenantID: in.TenantID, SupplierCode: in.SupplierCode, Full: in.Full,
		Enrichers: a.versions(), BatchSize: c.BatchSize, BatchesPerActivity: c.BatchesPerActivity,
		HeartbeatTimeout: c.HeartbeatTimeout, EnrichTimeout: c.EnrichTimeout, MaxHistoryEvents: c.MaxHistoryEvents,
		SKUOrder: true,
	}
	plan.UIURL = uiURL(a.UIURL, a.Namespace, plan.WorkflowID)
	enrichers, err := json.Marshal(plan.Enrichers)
	if err != nil {
		return wf.Plan{}, err
	}
	names := make([]string, len(plan.Enrichers))
	versions := make([]string, len(plan.Enrichers))
	for i, e := range plan.Enrichers {
		names[i], versions[i] = e.Name, e.Version
	}
	err = pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO gardener_runs (run_id, workflow_id, tenant_id, supplier_code, full_run, status,
				watermark_from, watermark_to, enrichers, stale_enrichers)
			SELECT $1, $2, $3, $4, $5, $6,
				CASE WHEN $5 THEN NULL ELSE (SELECT w.last_seen_upto - $7::interval FROM gardener_watermarks w WHERE w.tenant_id = $3 AND w.scope = $4) END,
				now(), $8,
				ARRAY(SELECT n FROM unnest($9::text[], $10::text[]) WITH ORDINALITY AS e(n, v, i)
					WHERE NOT EXISTS (SELECT 1 FROM gardener_enricher_versions x
						WHERE x.tenant_id = $3 AND x.scope = $4 AND x.enricher = e.n AND x.version = e.v) ORDER BY i)
			ON CONFLICT (run_id) DO NOTHING`,
			plan.RunID, plan.WorkflowID, plan.TenantID, plan.SupplierCode, plan.Full, wf.StatusRunning,
			c.WatermarkOverlap, enrichers, names, versions); err != nil {
			return err
		}
		// Marks of the tenant's runs that ended before their set-based
		// passes (failed, or abandoned: one gardener runs at a time per
		// tenant) become this run's: their batches stored keys whose
		// groups were never rebuilt, and the stored keys no longer show
		// what the groups were built from.
		if _, err := tx.Exec(ctx, `UPDATE gardener_marks SET run_id = $1 WHERE run_id IN (
				SELECT r.run_id FROM gardener_runs r WHERE r.tenant_id = $2 AND r.run_id <> $1 AND r.status <> $3)`,
			plan.RunID, plan.TenantID, wf.StatusSucceeded); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, changeLogSQL, plan.RunID); err != nil {
			return fmt.Errorf("change log: %w", err)
		}
		return tx.QueryRow(ctx, `SELECT watermark_from, watermark_to, stale_enrichers, change_log FROM gardener_runs WHERE run_id = $1`,
			plan.RunID).Scan(&plan.From, &plan.To, &plan.Stale, &plan.ChangeLog)
	})
	if err != nil {
		return wf.Plan{}, fmt.Errorf("begin: record run: %w", err)
	}
	if plan.From == nil {
		plan.Stale = nil // every product is processed by every enricher
	}
	return plan, nil
}

// Finalize runs the set-based passes of the enrichers that have one, in
// pipeline order, in one transaction with the run's record of it. A retry
// after success returns the recorded count.
func (a *Activities) Finalize(ctx context.Context, plan wf.Plan) (wf.FinalizeResult, error) {
	if err := a.checkVersions(plan); err != nil {
		return wf.FinalizeResult{}, err
	}
	defer heartbeat.KeepAlive(ctx, "finalizing")()
	var res wf.FinalizeResult
	run := enrich.Run{ID: plan.RunID, TenantID: plan.TenantID, SupplierCode: plan.SupplierCode, Now: plan.To, Sparse: !dense(plan)}
	// The passes may confine themselves to products changed since the
	// window's start: the scope's last successful run passed over the
	// whole tenant at its watermark or later, and the window's start is
	// that watermark less the overlap. With stale enrichers, batches
	// rewrote fields of unchanged products too: a full pass.
	var since *time.Time
	if len(plan.Stale) == 0 {
		since = plan.From
	}
	a.refreshStatistics(ctx, run.Sparse)
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var done *time.Time
		if err := tx.QueryRow(ctx, `SELECT finalized_at, finalized FROM gardener_runs WHERE run_id = $1 FOR UPDATE`,
			plan.RunID).Scan(&done, &res.Written); err != nil {
			return err
		}
		if done != nil {
			return nil
		}
		// The passes hash a tenant's keys; at the default 4 MB a million
		// of them spill to disk in batches. A merge join sorted 800k rows
		// on disk to meet three candidate keys a hash join finds in one
		// pass: the passes join by hashing or by key. JIT is off as for
		// the reads (readSettings): compiling takes most of a second,
		// longer than an incremental run's passes. Plans are made for
		// each run's values: the passes take arrays and run ids whose
		// sizes vary by orders of magnitude, and after five runs on one
		// pooled connection PostgreSQL may otherwise keep a generic plan,
		// made for an array of ten.
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off;
			SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return err
		}
		for _, st := range a.Pipeline.Steps() {
			f, ok := st.Enricher.(enrich.Finisher)
			if !ok {
				continue
			}
			n, err := f.Finish(ctx, tx, enrich.Finish{Run: run, Enricher: st.Name, Version: st.Version, Since: since})
			if err != nil {
				return fmt.Errorf("%s: %w", st.Name, err)
			}
			res.Written += n
		}
		_, err := tx.Exec(ctx, `UPDATE gardener_runs SET finalized = $2, finalized_at = now() WHERE run_id = $1`, plan.RunID, res.Written)
		return err
	})
	if err != nil {
		return wf.FinalizeResult{}, fmt.Errorf("finalize: %w", err)
	}
	return res, nil
}

// refreshStatistics ANALYZEs the tables the set-based passes read when
// much of them changed since their statistics were taken: enrichments and
// the groups and their members. The passes join them with products: planned on no
// statistics of enrichments (after a first run) or on those of a tenth of
// its rows, one took minutes instead of a second. Autovacuum gets there
// too, but not always before the passes begin. A failure only costs a
// slower plan.
//
// The marks of a sparse run are always analysed: its batches wrote them
// moments ago, before the counters that tell how much changed are
// flushed (they lag up to a second). Taken as one row, the 79k keys 100k
// changed products marked were sorted rather than hashed, and scanned
// again for each group member (0.4 s at 1M products).
//
// The plans rest on row counts and on which fields and tenants are
// common, which a sample of 3,000 rows shows as well as the default
// 30,000 (statistics target 10): at 1M products, ANALYZE of enrichments
// took 0.7 s, a tenth of that so.
func (a *Activities) refreshStatistics(ctx context.Context, sparse bool) {
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT relname FROM pg_stat_user_tables
			WHERE relid IN ('enrichments'::regclass, 'gardener_marks'::regclass, 'product_group_members'::regclass, 'product_groups'::regclass)
				AND (n_mod_since_analyze > 1000 + n_live_tup / 10 OR $1 AND relname = 'gardener_marks')
			ORDER BY relname`, sparse)
		if err != nil {
			return err
		}
		stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(stale) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL default_statistics_target = 10`); err != nil {
			return err
		}
		for _, t := range stale {
			// Every column: an ANALYZE of some columns leaves the table's
			// count of changes since analysis as it was (PostgreSQL
			// leaves auto-analyze the rest), so enrichments looked
			// stale to every later run, which analysed it again, and to
			// autovacuum, whose work on the table each such ANALYZE then
			// waited for deadlock_timeout (a second) and cancelled. At
			// statistics target 10 the values cost nothing more: 21-29 ms
			// at 1M products either way.
			if _, err := tx.Exec(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && a.Logger != nil {
		a.Logger.WarnContext(ctx, "gardener: could not refresh the statistics of the tables the set-based passes read", "error", err)
	}
}

// Finish records the run's outcome; after a success it advances the
// scope's watermark to the run's, records the enricher versions it
// applied and trims the harvest change log (trimChangeLog). Idempotent.
func (a *Activities) Finish(ctx context.Context, req wf.FinishRequest) (wf.Report, error) {
	plan := req.Plan
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE gardener_runs SET status = $2, error = NULLIF($3, ''), finished_at = coalesce(finished_at, now())
			WHERE run_id = $1`, plan.RunID, req.Status, req.Error); err != nil {
			return err
		}
		if req.Status != wf.StatusSucceeded {
			// The marks stay for the tenant's next run (see Begin).
			return nil
		}
		// The marks served the run's set-based passes, which are over.
		if _, err := tx.Exec(ctx, `DELETE FROM gardener_marks WHERE run_id = $1`, plan.RunID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO gardener_watermarks (tenant_id, scope, last_seen_upto, run_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, scope) DO UPDATE SET last_seen_upto = excluded.last_seen_upto, run_id = excluded.run_id, updated_at = now()
			WHERE gardener_watermarks.last_seen_upto < excluded.last_seen_upto`,
			plan.TenantID, plan.SupplierCode, plan.To, plan.RunID); err != nil {
			return err
		}
		for _, e := range plan.Enrichers {
			if _, err := tx.Exec(ctx, `INSERT INTO gardener_enricher_versions (tenant_id, scope, enricher, version, run_id) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (tenant_id, scope, enricher) DO UPDATE SET version = excluded.version, run_id = excluded.run_id
				WHERE gardener_enricher_versions.version IS DISTINCT FROM excluded.version`,
				plan.TenantID, plan.SupplierCode, e.Name, e.Version, plan.RunID); err != nil {
				return err
			}
		}
		return trimChangeLog(ctx, tx, plan.TenantID, a.Config.WatermarkOverlap, a.Config.ChangeLogRetention)
	})
	if err != nil {
		return wf.Report{}, fmt.Errorf("finish: %w", err)
	}
	return a.report(ctx, plan)
}

func (a *Activities) report(ctx context.Context, plan wf.Plan) (wf.Report, error) {
	r := wf.Report{UIURL: plan.UIURL}
	var errMsg *string
	var finished *time.Time
	err := a.DB.QueryRow(ctx, `SELECT run_id, workflow_id, tenant_id, supplier_code, full_run, status, error,
			watermark_from, watermark_to, stale_enrichers, batches, processed, skipped, written, deleted, finalized,
			enrich_ms, write_ms, started_at, finished_at
		FROM gardener_runs WHERE run_id = $1`, plan.RunID).Scan(
		&r.RunID, &r.WorkflowID, &r.TenantID, &r.SupplierCode, &r.Full, &r.Status, &errMsg,
		&r.From, &r.To, &r.Stale, &r.Batches, &r.Processed, &r.Skipped, &r.Written, &r.Deleted, &r.Finalized,
		&r.EnrichMillis, &r.WriteMillis, &r.StartedAt, &finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, temporal.NewNonRetryableApplicationError(fmt.Sprintf("run %s is not recorded", plan.RunID), ErrTypeUnknownRun, nil)
	}
	if err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	if errMsg != nil {
		r.Error = *errMsg
	}
	if finished != nil {
		r.FinishedAt = *finished
	}
	rows, err := a.DB.Query(ctx, `SELECT key, count, sum(count) OVER () FROM gardener_tallies WHERE run_id = $1 AND name = $2
		ORDER BY count DESC, key LIMIT 100`, plan.RunID, category.TallyUnmapped)
	if err != nil {
		return r, fmt.Errorf("report: tallies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c wf.Count
		if err := rows.Scan(&c.Key, &c.Count, &r.UnmappedTotal); err != nil {
			return r, fmt.Errorf("report: tallies: %w", err)
		}
		r.UnmappedCategories = append(r.UnmappedCategories, c)
	}
	return r, rows.Err()
}
