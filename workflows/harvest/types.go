package harvest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"contextworker/internal/ident"
)

// Stable names: these are API. Users start harvests with
// `temporal workflow start --type harvest --task-queue harvest`.
const (
	// WorkflowName is the registered workflow type.
	WorkflowName = "harvest"
	// TaskQueue is the task queue the harvest module's workers poll.
	TaskQueue = "harvest"
	// QueryProgress returns a Progress.
	QueryProgress = "progress"
	// SignalApprove lets a run that would deactivate more than the allowed
	// share of a supplier's catalogue go on.
	SignalApprove = "approve"
	// SignalReject ends such a run without deactivating anything.
	SignalReject = "reject"
	// SignalStageProgress carries the Stage activity's live counts (a
	// StageResult) to the progress query. Internal: the Stage activity
	// sends it; it is not declared to the starter, which refuses it.
	SignalStageProgress = "harvest-stage-progress"

	ActivityBegin      = "harvest.Begin"
	ActivityStage      = "harvest.Stage"
	ActivityMerge      = "harvest.Merge"
	ActivityDeactivate = "harvest.Deactivate"
	ActivityFinish     = "harvest.Finish"
	// ActivityNotifyGardener signals-with-start the tenant's gardener after
	// a harvest that changed products.
	ActivityNotifyGardener = "harvest.NotifyGardener"
)

// Input is the workflow input (JSON). Only tenant_id and supplier_code are
// required; the rest override the supplier's configuration for one run.
type Input struct {
	TenantID     string `json:"tenant_id"`
	SupplierCode string `json:"supplier_code"`
	// FeedURL and Format make an ad-hoc harvest of a supplier that is not
	// configured, or override a configured supplier's feed for one run.
	FeedURL       string `json:"feed_url,omitempty"`
	Format        string `json:"format,omitempty"`
	Delimiter     string `json:"delimiter,omitempty"`
	RecordElement string `json:"record_element,omitempty"`
	// RecordPath: where the records are (JSON: the property holding the
	// array; XML: the dotted element path from the root to the record).
	RecordPath string `json:"record_path,omitempty"`
	// Encoding names the feed's character encoding (WHATWG label, e.g.
	// windows-1252); empty means UTF-8 (or the XML declaration's).
	Encoding        string            `json:"encoding,omitempty"`
	Mapping         map[string]string `json:"mapping,omitempty"`
	DefaultCurrency string            `json:"default_currency,omitempty"`
	// Force skips the conditional GET, so an unchanged feed is harvested.
	Force bool `json:"force,omitempty"`

	// State carries a run across continue-as-new. Callers leave it empty.
	State *State `json:"state,omitempty"`
}

// Validate checks the input; every problem names its field.
func (in *Input) Validate() error { return in.validate(true) }

// validate checks the input, and refuses a feed URL with credentials when
// credentials is set (runs begun before that check replay without it).
func (in *Input) validate(credentials bool) error {
	var errs []error
	if err := ident.Check("tenant_id", in.TenantID); err != nil {
		errs = append(errs, err)
	}
	if err := ident.Check("supplier_code", in.SupplierCode); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(in.FeedURL); err == nil && u.User != nil && credentials {
		// never echo the URL: it holds the secret
		errs = append(errs, errors.New("feed_url: carries credentials (user:password@host), which would stay in clear in Temporal's history; "+
			"configure them on the supplier as secret references (feed.basic_auth, feed.bearer_token or feed.headers)"))
	}
	if in.Delimiter != "" && len([]rune(in.Delimiter)) != 1 {
		errs = append(errs, fmt.Errorf("delimiter: %q must be one character", in.Delimiter))
	}
	return errors.Join(errs...)
}

// WorkflowID is the id of the one harvest that may run for a tenant's
// supplier at a time.
func WorkflowID(tenant, supplier string) string {
	return "harvest/" + tenant + "/" + supplier
}

// Tuning is the part of modules.harvest that a run's plan carries as it
// is. activities/harvest.Config embeds it (yaml, inline) and Plan embeds it
// (json, flattened, so plans recorded before it existed decode alike):
// one declaration for the config and the history.
type Tuning struct {
	// Partitions splits a run's merge into this many independent
	// activities; Parallelism of them run at once (across all workers).
	Partitions  int `yaml:"partitions" json:"partitions"`
	Parallelism int `yaml:"parallelism" json:"parallelism"`
	// MaxDeactivateShare (0..1) is the largest share of a supplier's
	// active products one run may deactivate without an approve signal.
	MaxDeactivateShare float64       `yaml:"max_deactivate_share" json:"max_deactivate_share"`
	ApprovalTimeout    time.Duration `yaml:"approval_timeout" json:"approval_timeout"`
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout" json:"heartbeat_timeout"`
	StageTimeout       time.Duration `yaml:"stage_timeout" json:"stage_timeout"`
	// MaxHistoryEvents makes a run continue as new before its history
	// grows past it (the server's own suggestion also counts).
	MaxHistoryEvents int `yaml:"max_history_events" json:"max_history_events"`
	// ChainGardener makes a harvest that changed products signal-with-start
	// the tenant's gardener workflow (the harvest does not wait for it).
	ChainGardener bool `yaml:"chain_gardener" json:"chain_gardener,omitempty"`
}

// Plan is a run's resolved configuration, made by the Begin activity and
// recorded in history, so later steps never re-read a changed config.
type Plan struct {
	RunID         string `json:"run_id"`
	WorkflowID    string `json:"workflow_id"`
	TenantID      string `json:"tenant_id"`
	SupplierCode  string `json:"supplier_code"`
	FeedURL       string `json:"feed_url"`
	Format        string `json:"format"`
	Delimiter     string `json:"delimiter,omitempty"`
	RecordElement string `json:"record_element,omitempty"`
	RecordPath    string `json:"record_path,omitempty"`
	Encoding      string `json:"encoding,omitempty"`
	// Gzip: the supplier says the feed is gzip; a body that is not fails.
	// (Without it gzip is still detected from the bytes.)
	Gzip  bool   `json:"gzip,omitempty"`
	Sheet string `json:"sheet,omitempty"`
	// Bounds of one record (see activities/harvest.Config).
	MaxFieldBytes   int               `json:"max_field_bytes,omitempty"`
	MaxRecordBytes  int               `json:"max_record_bytes,omitempty"`
	MaxDepth        int               `json:"max_depth,omitempty"`
	Mapping         map[string]string `json:"mapping,omitempty"`
	DefaultCurrency string            `json:"default_currency,omitempty"`
	Conditional     bool              `json:"conditional"`
	// Tuning is modules.harvest's run settings as the run began.
	Tuning
	// MaxDeactivateShareUndeclared is the stricter share for a run whose
	// feed declared no length and has no end marker (a cut at a record
	// boundary looks complete); nil in plans made before it existed.
	MaxDeactivateShareUndeclared *float64 `json:"max_deactivate_share_undeclared,omitempty"`
	UIURL                        string   `json:"ui_url,omitempty"`
}

// StageResult is what staging the feed found.
type StageResult struct {
	Unchanged   bool  `json:"unchanged"`
	Bytes       int64 `json:"bytes"`
	RowsRead    int64 `json:"rows_read"`
	Valid       int64 `json:"valid"`
	Rejected    int64 `json:"rejected"`
	Duplicates  int64 `json:"duplicates"`
	Attempts    int   `json:"attempts"`
	ResumedFrom int64 `json:"resumed_from_row"`
	// Loaded: a first load, which Stage put straight into products;
	// nothing is left to merge.
	Loaded bool `json:"loaded,omitempty"`
	// LengthUndeclared: the server declared no length and the format has
	// no end marker, so a feed cut at a record boundary would look whole.
	LengthUndeclared bool `json:"length_undeclared,omitempty"`
	// CheckpointLost: a database crash emptied the staging checkpoint and
	// staging started again from the first row.
	CheckpointLost bool `json:"checkpoint_lost,omitempty"`
	// NothingStaged: a re-harvest staged no row (every valid row was a
	// stored product, unchanged, named once): merging has nothing to do.
	NothingStaged bool `json:"nothing_staged,omitempty"`
}

// MergeResult counts what merging one partition wrote.
type MergeResult struct {
	Part      int   `json:"part"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// DeactivateRequest asks to deactivate products missing from the run.
type DeactivateRequest struct {
	Plan     Plan `json:"plan"`
	Approved bool `json:"approved"`
	// CheckOnly asks whether the run would need approval, changing
	// nothing: asked before merging, so a rejected run merges nothing.
	CheckOnly bool `json:"check_only,omitempty"`
}

// DeactivateResult says what deactivation did, or would do.
type DeactivateResult struct {
	ActiveBefore  int64   `json:"active_before"`
	Missing       int64   `json:"missing"`
	Share         float64 `json:"share"`
	NeedsApproval bool    `json:"needs_approval"`
	Deactivated   int64   `json:"deactivated"`
	// Limit is the share that applied (the stricter one for a feed of
	// undeclared length); 0 in results of older workers.
	Limit            float64 `json:"limit,omitempty"`
	LengthUndeclared bool    `json:"length_undeclared,omitempty"`
	// Unknown: CheckOnly could not tell yet (a run staged by an old
	// worker); the check after merging decides.
	Unknown bool `json:"unknown,omitempty"`
}

// Run statuses recorded in harvest_runs and reports.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusUnchanged = "unchanged"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// FinishRequest closes a run.
type FinishRequest struct {
	Plan   Plan   `json:"plan"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Report is the workflow result: the run as recorded in harvest_runs.
type Report struct {
	RunID        string `json:"run_id"`
	WorkflowID   string `json:"workflow_id"`
	TenantID     string `json:"tenant_id"`
	SupplierCode string `json:"supplier_code"`
	Status       string `json:"status"`
	Error        string `json:"error,omitempty"`
	FeedURL      string `json:"feed_url"`
	Format       string `json:"format"`
	FeedBytes    int64  `json:"feed_bytes"`
	RowsRead     int64  `json:"rows_read"`
	Valid        int64  `json:"valid"`
	Rejected     int64  `json:"rejected"`
	Duplicates   int64  `json:"duplicates"`
	Inserted     int64  `json:"inserted"`
	Updated      int64  `json:"updated"`
	Unchanged    int64  `json:"unchanged"`
	Deactivated  int64  `json:"deactivated"`
	StageAttempt int    `json:"stage_attempts"`
	ResumedFrom  int64  `json:"resumed_from_row"`
	// CheckpointLost: a database crash emptied the staging checkpoint, so
	// the attempt after it staged again from row 1 (resumed_from_row 0).
	CheckpointLost bool `json:"checkpoint_lost,omitempty"`
	// LengthUndeclared: the feed's server declared no length and its
	// format has no end marker, so a feed cut at a record boundary would
	// have looked complete; deactivation had a stricter guard.
	LengthUndeclared bool      `json:"length_undeclared,omitempty"`
	StartedAt        time.Time `json:"started_at"`
	FinishedAt       time.Time `json:"finished_at"`
	// RejectsQuery shows where the rejected rows and their reasons are.
	RejectsQuery string `json:"rejects_query"`
	UIURL        string `json:"ui_url,omitempty"`
}

// Progress is returned by the progress query.
type Progress struct {
	Phase        string      `json:"phase"`
	RunID        string      `json:"run_id,omitempty"`
	Stage        StageResult `json:"stage"`
	PartsDone    int         `json:"parts_done"`
	PartsTotal   int         `json:"parts_total"`
	Inserted     int64       `json:"inserted"`
	Updated      int64       `json:"updated"`
	Unchanged    int64       `json:"unchanged"`
	Deactivated  int64       `json:"deactivated"`
	Continuation int         `json:"continuation"`
	Note         string      `json:"note,omitempty"`
}

// State is carried across continue-as-new.
type State struct {
	Plan         *Plan        `json:"plan,omitempty"`
	Staged       *StageResult `json:"staged,omitempty"`
	PartsDone    []int        `json:"parts_done,omitempty"`
	Merged       MergeResult  `json:"merged"`
	Continuation int          `json:"continuation"`
	// Checked: the deactivation guard was asked before merging
	// ("approve-before-merge"); Approved: and an approve signal came.
	Checked  bool `json:"checked,omitempty"`
	Approved bool `json:"approved,omitempty"`
}

func summary(in Input) string {
	s := fmt.Sprintf("harvest %s/%s", in.TenantID, in.SupplierCode)
	if in.FeedURL != "" {
		s += " from " + RedactURL(strings.TrimSpace(in.FeedURL))
	}
	return s
}

// RedactURL drops credentials (userinfo) from a URL before it goes into a
// summary, a log or a table. Inputs with credentials are refused anyway;
// this is the second line.
func RedactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.Index(raw[i+3:], "@"); at >= 0 && !strings.ContainsAny(raw[i+3:i+3+at], "/?#") {
			return raw[:i+3] + "****@" + raw[i+3+at+1:]
		}
	}
	return raw
}
