package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"contextworker/internal/ident"
)

// Stable names: these are API.
const (
	// WorkflowName ingests one document.
	WorkflowName = "ingest"
	// BatchWorkflowName ingests a directory, a URL list or a JSONL file.
	BatchWorkflowName = "ingest-batch"
	// TaskQueue is the task queue the ingest module's workers poll.
	TaskQueue = "ingest"
	// QueryProgress returns a Progress.
	QueryProgress = "progress"
	// SignalRelease admits a quarantined SNO (payload: a Decision).
	SignalRelease = "release"
	// SignalDelete deletes a quarantined SNO (payload: a Decision).
	SignalDelete = "delete"

	ActivityDocument   = "ingest.Document"
	ActivityDecide     = "ingest.Decide"
	ActivityBatchBegin = "ingest.BatchBegin"
	ActivityChunk      = "ingest.Chunk"
)

// Activities lists the activity types the workflows call.
var Activities = []string{ActivityDocument, ActivityDecide, ActivityBatchBegin, ActivityChunk}

// SNO statuses and document outcomes, as stored.
const (
	StatusAdmitted    = "admitted"
	StatusQuarantined = "quarantined"
	StatusDeleted     = "deleted"
	// StatusDuplicate is the outcome of a submission whose text is an SNO
	// of the tenant already: it changes nothing.
	StatusDuplicate = "duplicate"
)

// Limits on what an input may carry, so history stays small.
const (
	MaxMetadataKeys  = 32
	MaxMetadataValue = 1024
	MaxURLs          = 1000
	MaxSourceLen     = 128
)

var sourcePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@/+-]*$`)

// Input is the ingest workflow's input (JSON): one document, as text or as
// an http(s) URL to fetch.
//
// The text travels in the workflow's start event, which the activity
// reads instead of being handed the text again, so it is in history once.
// It is in clear there until payloads are encrypted (the payload-codec
// issue); prefer url for sensitive documents.
type Input struct {
	TenantID string            `json:"tenant_id"`
	Source   string            `json:"source"`
	Text     string            `json:"text,omitempty"`
	URL      string            `json:"url,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Validate checks the input; every problem names its field. An empty or
// binary text is valid input: it is quarantined with its reason.
func (in *Input) Validate() error {
	errs := checkCommon(in.TenantID, in.Source, in.Metadata)
	switch {
	case in.Text == "" && in.URL == "":
		errs = append(errs, errors.New("text: one of text or url is required"))
	case in.Text != "" && in.URL != "":
		errs = append(errs, errors.New("url: give text or url, not both"))
	case in.URL != "":
		if err := checkURL("url", in.URL); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkCommon(tenant, source string, md map[string]string) []error {
	var errs []error
	if err := ident.Check("tenant_id", tenant); err != nil {
		errs = append(errs, err)
	}
	if len(source) > MaxSourceLen || !sourcePattern.MatchString(source) {
		errs = append(errs, fmt.Errorf("source: %q must be 1-%d letters, digits or _.:@/+- starting with a letter or digit", source, MaxSourceLen))
	}
	if len(md) > MaxMetadataKeys {
		errs = append(errs, fmt.Errorf("metadata: %d keys, at most %d", len(md), MaxMetadataKeys))
	}
	// sorted, so the error is the same on every replay
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if k == "" || len(k) > 64 || len(md[k]) > MaxMetadataValue {
			errs = append(errs, fmt.Errorf("metadata: key %.64q must be 1-64 bytes with a value of at most %d", k, MaxMetadataValue))
			break
		}
	}
	return errs
}

func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%s: %.200q must be an http(s) URL without credentials", field, raw)
	}
	return nil
}

// ContentSHA256 returns the hex sha256 of the input's text.
func (in *Input) ContentSHA256() string {
	sum := sha256.Sum256([]byte(in.Text))
	return hex.EncodeToString(sum[:])
}

// Key is the document's part of the workflow id: the SNO id (a prefix of
// sha256(tenant NUL text), see sno.ID) for a text, and "url-" with a
// prefix of sha256(tenant NUL url) for a URL, whose content is unknown
// until fetched.
func (in *Input) Key() string {
	if in.URL != "" {
		sum := sha256.Sum256([]byte(in.TenantID + "\x00" + in.URL))
		return "url-" + hex.EncodeToString(sum[:])[:16]
	}
	sum := sha256.Sum256([]byte(in.TenantID + "\x00" + in.Text))
	return hex.EncodeToString(sum[:])[:16]
}

// WorkflowID is "ingest/<tenant>/<key>": the same document sent twice is
// one run.
func WorkflowID(in *Input) string { return WorkflowName + "/" + in.TenantID + "/" + in.Key() }

// BatchInput is the ingest-batch workflow's input: exactly one of Dir (a
// directory of documents, one per file), JSONL (a file of JSON lines
// {"text": …, "source": …, "metadata": {…}}; source and metadata optional)
// or URLs. Dir and JSONL are relative to the module's file_root.
type BatchInput struct {
	TenantID string            `json:"tenant_id"`
	Source   string            `json:"source"`
	Dir      string            `json:"dir,omitempty"`
	JSONL    string            `json:"jsonl,omitempty"`
	URLs     []string          `json:"urls,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`

	// State carries a run across continue-as-new. Callers leave it empty.
	State *BatchState `json:"state,omitempty"`
}

// Validate checks the input; every problem names its field.
func (in *BatchInput) Validate() error {
	errs := checkCommon(in.TenantID, in.Source, in.Metadata)
	n := 0
	for _, set := range []bool{in.Dir != "", in.JSONL != "", len(in.URLs) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, errors.New("dir: give exactly one of dir, jsonl or urls"))
	}
	for _, f := range [][2]string{{"dir", in.Dir}, {"jsonl", in.JSONL}} {
		if f[1] != "" && !LocalPath(f[1]) {
			errs = append(errs, fmt.Errorf("%s: %.200q must be a relative path inside file_root, without ..", f[0], f[1]))
		}
	}
	if len(in.URLs) > MaxURLs {
		errs = append(errs, fmt.Errorf("urls: %d URLs, at most %d (use a JSONL file)", len(in.URLs), MaxURLs))
	}
	for i, u := range in.URLs {
		if err := checkURL(fmt.Sprintf("urls[%d]", i), u); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// LocalPath reports whether p is a clean relative path that stays inside
// its root.
func LocalPath(p string) bool {
	return p != "" && !path.IsAbs(p) && !strings.HasPrefix(path.Clean(p), "..") && !strings.Contains(p, "\\")
}

// BatchWorkflowID is the id of a batch: one batch per tenant, source and
// what it reads.
func BatchWorkflowID(in *BatchInput) string {
	what := in.Dir + "\x00" + in.JSONL + "\x00" + strings.Join(in.URLs, "\n")
	sum := sha256.Sum256([]byte(in.TenantID + "\x00" + in.Source + "\x00" + what))
	return BatchWorkflowName + "/" + in.TenantID + "/" + hex.EncodeToString(sum[:])[:16]
}

// DocRef is what the Document activity is handed: a reference to the
// document (the hash of the start input's text, or its URL), never the
// text itself.
type DocRef struct {
	TenantID      string            `json:"tenant_id"`
	Source        string            `json:"source"`
	ContentSHA256 string            `json:"content_sha256,omitempty"`
	URL           string            `json:"url,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// Scores are an SNO's critic scores and trust.
type Scores struct {
	Trust     float64 `json:"trust"`
	Grounding float64 `json:"grounding"`
	Logic     float64 `json:"logic"`
	Novelty   float64 `json:"novelty"`
}

// Outcome is what became of one document: its SNO id, status, scores and
// the reasons it is quarantined. It never holds the document's text.
type Outcome struct {
	SNOID   string   `json:"sno_id"`
	Status  string   `json:"status"`
	Scores  Scores   `json:"scores"`
	Reasons []string `json:"reasons,omitempty"`
	// ReviewTimeout is how long the ingest workflow waits for an
	// operator's decision on a quarantined SNO (from config; 0: it does
	// not wait).
	ReviewTimeout time.Duration `json:"review_timeout,omitempty"`
}

// Decision is the payload of the release and delete signals.
type Decision struct {
	// SNOID names the SNO; the ingest workflow fills in its own.
	SNOID    string `json:"sno_id,omitempty"`
	Operator string `json:"operator"`
	Note     string `json:"note,omitempty"`
}

// DecideRequest asks the Decide activity to record and apply a decision.
type DecideRequest struct {
	TenantID string   `json:"tenant_id"`
	Decision string   `json:"decision"`
	Detail   Decision `json:"detail"`
	// RequestID makes a retried decision idempotent.
	RequestID string `json:"request_id"`
}

// Report is the ingest workflow's result.
type Report struct {
	Outcome
	// Decision is the operator's decision on a quarantined SNO, if any.
	Decision string `json:"decision,omitempty"`
	Operator string `json:"operator,omitempty"`
}

// Counts tally documents by outcome.
type Counts struct {
	Documents   int `json:"documents"`
	Admitted    int `json:"admitted"`
	Quarantined int `json:"quarantined"`
	Duplicates  int `json:"duplicates"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Documents += o.Documents
	c.Admitted += o.Admitted
	c.Quarantined += o.Quarantined
	c.Duplicates += o.Duplicates
}

// Progress is returned by the progress query of both workflows.
type Progress struct {
	Phase string `json:"phase"`
	// Done counts the documents processed; Total those in the batch (1
	// for a single document).
	Done        int `json:"done"`
	Total       int `json:"total"`
	Admitted    int `json:"admitted"`
	Quarantined int `json:"quarantined"`
	Duplicates  int `json:"duplicates"`
	ChunksDone  int `json:"chunks_done,omitempty"`
	Chunks      int `json:"chunks,omitempty"`
	// Decisions counts operator decisions the run recorded.
	Decisions    int `json:"decisions,omitempty"`
	Continuation int `json:"continuation,omitempty"`
}

// BatchPlan is a batch's resolved work list, made by BatchBegin and kept
// across continue-as-new. The chunks themselves are in PostgreSQL.
type BatchPlan struct {
	// RunID is the first run's id: it names the batch's chunks.
	RunID      string `json:"run_id"`
	WorkflowID string `json:"workflow_id"`
	TenantID   string `json:"tenant_id"`
	Source     string `json:"source"`
	// Submitter is who started the batch (the starter's JWT sub, or the
	// Temporal client identity).
	Submitter string `json:"submitter"`
	Kind      string `json:"kind"`
	// Path is the directory or JSONL file, relative to file_root.
	Path             string        `json:"path,omitempty"`
	Chunks           int           `json:"chunks"`
	Documents        int           `json:"documents"`
	Window           int           `json:"window"`
	ChunkTimeout     time.Duration `json:"chunk_timeout"`
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout"`
	MaxHistoryEvents int           `json:"max_history_events"`
}

// ChunkRequest asks the Chunk activity to process one chunk.
type ChunkRequest struct {
	Plan  BatchPlan `json:"plan"`
	Chunk int       `json:"chunk"`
}

// BatchState is carried across continue-as-new.
type BatchState struct {
	Plan         *BatchPlan `json:"plan,omitempty"`
	Next         int        `json:"next"`
	Totals       Counts     `json:"totals"`
	ChunksDone   int        `json:"chunks_done"`
	Decisions    int        `json:"decisions"`
	Continuation int        `json:"continuation"`
}

// BatchReport is the ingest-batch workflow's result.
type BatchReport struct {
	RunID      string `json:"run_id"`
	WorkflowID string `json:"workflow_id"`
	Counts
	Chunks    int `json:"chunks"`
	Decisions int `json:"decisions"`
}
