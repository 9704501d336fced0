package gardener

import (
	"errors"
	"time"

	"contextworker/internal/ident"
)

// Stable names: these are API. Harvest chains to the gardener with them:
// it signals-with-start WorkflowID(tenant) with SignalProductsChanged.
const (
	// WorkflowName is the registered workflow type.
	WorkflowName = "gardener"
	// TaskQueue is the task queue the gardener module's workers poll.
	TaskQueue = "gardener"
	// QueryProgress returns a Progress.
	QueryProgress = "progress"
	// SignalProductsChanged tells a running gardener that products changed
	// after its pass began: it does one more pass when the current one ends.
	// A signal that starts the workflow (signal-with-start) is covered by
	// the pass it starts.
	SignalProductsChanged = "products_changed"

	ActivityBegin    = "gardener.Begin"
	ActivityEnrich   = "gardener.Enrich"
	ActivityFinalize = "gardener.Finalize"
	ActivityFinish   = "gardener.Finish"
)

// WorkflowID is the id of the one gardener that may run for a tenant.
func WorkflowID(tenant string) string { return "gardener/" + tenant }

// Input is the workflow input (JSON).
type Input struct {
	TenantID string `json:"tenant_id"`
	// SupplierCode limits the run to one supplier's products; "" means all.
	SupplierCode string `json:"supplier_code,omitempty"`
	// Full processes every product, not only those changed since the last
	// successful run.
	Full bool `json:"full,omitempty"`

	// State carries a run across continue-as-new. Callers leave it empty.
	State *State `json:"state,omitempty"`
}

// Validate checks the input; every problem names its field.
func (in *Input) Validate() error {
	var errs []error
	if err := ident.Check("tenant_id", in.TenantID); err != nil {
		errs = append(errs, err)
	}
	if in.SupplierCode != "" {
		if err := ident.Check("supplier_code", in.SupplierCode); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EnricherVersion names an enricher at the effective version a run uses.
type EnricherVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Plan is a run's resolved configuration and watermark window, made by the
// Begin activity and recorded in history.
type Plan struct {
	RunID        string `json:"run_id"`
	WorkflowID   string `json:"workflow_id"`
	TenantID     string `json:"tenant_id"`
	SupplierCode string `json:"supplier_code,omitempty"`
	Full         bool   `json:"full"`
	// From is where the window of changed products starts (the last
	// watermark less the overlap); nil processes everything.
	From *time.Time `json:"from,omitempty"`
	// To is the new watermark, taken when the run began.
	To time.Time `json:"to"`
	// Enrichers are the enabled enrichers in order, at their versions.
	Enrichers []EnricherVersion `json:"enrichers"`
	// Stale are enrichers whose version the scope has not completed: they
	// run on every product, the others only on changed products.
	Stale              []string      `json:"stale,omitempty"`
	BatchSize          int           `json:"batch_size"`
	BatchesPerActivity int           `json:"batches_per_activity"`
	HeartbeatTimeout   time.Duration `json:"heartbeat_timeout"`
	EnrichTimeout      time.Duration `json:"enrich_timeout"`
	MaxHistoryEvents   int           `json:"max_history_events"`
	UIURL              string        `json:"ui_url,omitempty"`
	// SKUOrder: the run pages through products by (sku, supplier_code),
	// the order of products' primary key since migration 0003; runs begun
	// before that page by (supplier_code, sku).
	SKUOrder bool `json:"sku_order,omitempty"`
	// ChangeLog: the run reads its changed products by key from the
	// harvest change log (product_changes) instead of walking products
	// for last_seen; Begin sets it when the log covers the window. A plan
	// recorded before it decodes as false: the walk.
	ChangeLog bool `json:"change_log,omitempty"`
}

// Totals are a run's counts so far, as recorded with its checkpoint.
type Totals struct {
	Batches   int64 `json:"batches"`
	Processed int64 `json:"processed"`
	// Skipped counts changed products an incremental run did not read:
	// none of the columns that changed in them (its price, say) is one an
	// enabled enricher reads. Absent from results recorded before it.
	Skipped int64 `json:"skipped,omitempty"`
	// Written counts enrichment rows inserted or changed; Deleted those
	// removed because an enricher no longer produces them.
	Written int64 `json:"written"`
	Deleted int64 `json:"deleted"`
}

// EnrichResult is where the Enrich activity left the run.
type EnrichResult struct {
	Totals
	Done           bool   `json:"done"`
	CursorSupplier string `json:"cursor_supplier"`
	CursorSKU      string `json:"cursor_sku"`
}

// FinalizeResult counts what the set-based passes wrote.
type FinalizeResult struct {
	Written int64 `json:"written"`
}

// Run statuses recorded in gardener_runs and reports.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// FinishRequest closes a run.
type FinishRequest struct {
	Plan   Plan   `json:"plan"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Count is one tallied key, such as an unmapped category.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Report is the workflow result: the run as recorded in gardener_runs.
type Report struct {
	RunID        string     `json:"run_id"`
	WorkflowID   string     `json:"workflow_id"`
	TenantID     string     `json:"tenant_id"`
	SupplierCode string     `json:"supplier_code,omitempty"`
	Full         bool       `json:"full"`
	Status       string     `json:"status"`
	Error        string     `json:"error,omitempty"`
	From         *time.Time `json:"watermark_from,omitempty"`
	To           time.Time  `json:"watermark_to"`
	Stale        []string   `json:"stale_enrichers,omitempty"`
	Totals
	// Finalized counts rows written by the set-based passes (groups,
	// outlier and stale-stock flags).
	Finalized int64 `json:"finalized"`
	// UnmappedCategories lists supplier category paths no rule, name or
	// fuzzy match mapped, most frequent first (at most 100).
	UnmappedCategories []Count   `json:"unmapped_categories,omitempty"`
	UnmappedTotal      int64     `json:"unmapped_total"`
	EnrichMillis       int64     `json:"enrich_ms"`
	WriteMillis        int64     `json:"write_ms"`
	StartedAt          time.Time `json:"started_at"`
	FinishedAt         time.Time `json:"finished_at"`
	UIURL              string    `json:"ui_url,omitempty"`
}

// ProductsChanged is the payload of SignalProductsChanged: who changed
// products. The gardener's pass covers every change whoever made it; the
// payload says in the progress query what the last notice was.
type ProductsChanged struct {
	// SupplierCode is the supplier whose products changed.
	SupplierCode string `json:"supplier_code"`
	// HarvestRunID is the harvest run that changed them, if a harvest did.
	HarvestRunID string `json:"harvest_run_id,omitempty"`
}

// Progress is returned by the progress query.
type Progress struct {
	Phase string `json:"phase"`
	RunID string `json:"run_id,omitempty"`
	Totals
	Cursor       string `json:"cursor,omitempty"`
	Finalized    int64  `json:"finalized"`
	Continuation int    `json:"continuation"`
	// Again is true when products changed during this pass: another
	// pass follows.
	Again bool   `json:"again"`
	Note  string `json:"note,omitempty"`
	// Notices counts the products_changed signals this run received, and
	// LastNotice is the latest one's payload.
	Notices    int              `json:"notices,omitempty"`
	LastNotice *ProductsChanged `json:"last_notice,omitempty"`
}

// State is carried across continue-as-new.
type State struct {
	Plan         *Plan           `json:"plan,omitempty"`
	Enriched     EnrichResult    `json:"enriched"`
	Finalized    *FinalizeResult `json:"finalized,omitempty"`
	Continuation int             `json:"continuation"`
	Again        bool            `json:"again,omitempty"`
}

func summary(in Input) string {
	s := "gardener " + in.TenantID
	if in.SupplierCode != "" {
		s += "/" + in.SupplierCode
	}
	if in.Full {
		s += " (full)"
	}
	return s
}
