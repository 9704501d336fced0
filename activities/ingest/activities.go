// Package ingest implements the ingest module's activities: loading
// documents (from the workflow's start event, URLs, a directory or a
// JSONL file), building and scoring their SNOs, admitting or quarantining
// them in PostgreSQL with their provenance, and applying operators'
// decisions. Every activity is idempotent: a submission is keyed by its
// workflow id and item, a decision by its request id, and a retry returns
// what was recorded. Orchestration lives in contextworker/workflows/ingest,
// whose types these activities share.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/llm"
	"contextworker/modules/ingest/critic"
	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/extract"
	wf "contextworker/workflows/ingest"
)

// Error types of non-retryable failures.
const (
	ErrTypeBadInput       = "BadInput"
	ErrTypeUnknownSNO     = "UnknownSNO"
	ErrTypeNotQuarantined = "NotQuarantined"
	ErrTypeNothingToAdmit = "NothingToAdmit"
)

// Activities holds the ingest activities' dependencies.
type Activities struct {
	DB        *pgxpool.Pool
	Config    *Config
	Logger    *slog.Logger
	Extractor extract.Extractor
	Embedder  embed.Embedder
	NLI       critic.NLI
	Weights   critic.Weights
	// StartEvent returns the input and client identity a workflow was
	// started with; by default it reads the first event of its history.
	StartEvent func(ctx context.Context, workflowID, runID string, input any) (identity string, err error)
	// Converter decodes the start event's input: the worker client's data
	// converter, so that encrypted payloads are decrypted (the default
	// converter when payloads are not encrypted).
	Converter converter.DataConverter
	// Metrics counts admitted and quarantined documents; nil records
	// nothing.
	Metrics *Metrics

	fetch   *fetcher
	indexes *indexes
	// recentVecs caches documents' embeddings for the flood detector.
	recentVecs docVecCache
}

// New returns the activities with the configured extractor and embedder
// (by default the offline rules and hashing) and the lexical NLI; tc
// reads start events (nil: set StartEvent). It does no I/O: API keys are
// resolved when a document is extracted or embedded.
func New(db *pgxpool.Pool, cfg *Config, logger *slog.Logger, tc client.Client) (*Activities, error) {
	w, err := cfg.CriticWeights()
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	ex, err := newExtractor(cfg, logger)
	if err != nil {
		return nil, err
	}
	em, err := newEmbedder(cfg)
	if err != nil {
		return nil, err
	}
	a := &Activities{
		DB: db, Config: cfg, Logger: logger, Weights: w,
		Extractor: ex, Embedder: em, NLI: critic.Lexical{},
		fetch:     newFetcher(cfg.Network, cfg.FetchTimeout, int64(cfg.Admission.MaxDocBytes)),
		indexes:   newIndexes(),
		Converter: converter.GetDefaultDataConverter(),
	}
	if tc != nil {
		a.StartEvent = func(ctx context.Context, wid, rid string, input any) (string, error) {
			return readStartEvent(ctx, tc, a.Converter, wid, rid, input)
		}
	}
	return a, nil
}

// newExtractor returns the configured extractor. The llm extractor falls
// back to the rules on a document whose answers are invalid (see
// extract.LLM for why).
func newExtractor(cfg *Config, logger *slog.Logger) (extract.Extractor, error) {
	rules := extract.Rules{MaxClaims: cfg.MaxClaims}
	if cfg.Extractor.Kind != ExtractorLLM {
		return rules, nil
	}
	l := cfg.Extractor.LLM
	c, err := llm.New(l.Config, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("ingest: extractor.llm: %w", err)
	}
	return &extract.LLM{Client: c, MaxClaims: cfg.MaxClaims, MaxInputBytes: l.MaxInputBytes,
		JSONObject: l.ResponseFormat == "json_object", Fallback: rules, Logger: logger}, nil
}

// newEmbedder returns the configured embedder.
func newEmbedder(cfg *Config) (embed.Embedder, error) {
	if cfg.Embedder.Kind != EmbedderOpenAI {
		return embed.Hashing{}, nil
	}
	o := cfg.Embedder.OpenAI
	c, err := llm.New(o.Config, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("ingest: embedder.openai: %w", err)
	}
	return &embed.OpenAI{Client: c, Dimensions: o.Dimensions, SendDimensions: o.SendDimensions,
		BatchSize: o.BatchSize, MaxInputBytes: o.MaxInputBytes}, nil
}

func nonRetryable(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// wrap prefixes err with op, but returns an application error as it is:
// the SDK reads its type (and that it is non-retryable) only when it is
// the error returned, not one wrapped inside.
func wrap(op string, err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae
	}
	return fmt.Errorf("%s: %w", op, err)
}

// readStartEvent decodes the input of a workflow's start event into input
// and returns the identity that started it. Reading it back means the
// workflow need not pass a document's text to an activity again, so the
// text is in history once.
func readStartEvent(ctx context.Context, tc client.Client, dc converter.DataConverter, wid, rid string, input any) (string, error) {
	it := tc.GetWorkflowHistory(ctx, wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return "", fmt.Errorf("read start event of %s: empty history", wid)
	}
	ev, err := it.Next()
	if err != nil {
		return "", fmt.Errorf("read start event of %s: %w", wid, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return "", fmt.Errorf("read start event of %s: first event is %s", wid, ev.GetEventType())
	}
	if input != nil {
		if err := dc.FromPayloads(attrs.GetInput(), input); err != nil {
			// An encrypted input the converter cannot open never will.
			return "", nonRetryable(ErrTypeBadInput, "read start event of %s: decode input (encrypted payloads need the worker's data converter): %v", wid, err)
		}
	}
	return attrs.GetIdentity(), nil
}

// Submitter turns a start identity into the submitter recorded in
// provenance: the JWT sub when the starter started the workflow (it sets
// the identity "starter sub=<sub>"), else the Temporal client's identity
// as is.
func Submitter(identity string) string {
	if sub, ok := strings.CutPrefix(identity, "starter sub="); ok {
		return sub
	}
	if identity == "" {
		return "unknown"
	}
	return identity
}

// Document loads one document (the start input's text, checked against
// its hash, or a URL), stores it, builds and scores its SNO, and admits or
// quarantines it with its provenance. A retry returns the recorded
// outcome.
func (a *Activities) Document(ctx context.Context, ref wf.DocRef) (wf.Outcome, error) {
	info := activity.GetInfo(ctx)
	wid, rid := info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	var in wf.Input
	identity, err := a.StartEvent(ctx, wid, rid, &in)
	if err != nil {
		return wf.Outcome{}, err
	}
	d := doc{item: "", source: ref.Source, metadata: ref.Metadata}
	switch {
	case ref.ContentSHA256 != "":
		if in.ContentSHA256() != ref.ContentSHA256 {
			return wf.Outcome{}, nonRetryable(ErrTypeBadInput, "document: the start input's text does not match hash %s", ref.ContentSHA256)
		}
		d.body, d.keepText = []byte(in.Text), true
	case ref.URL != "":
		body, err := a.fetch.get(ctx, ref.URL)
		switch {
		case err == nil:
			d.body = body
		case errors.Is(err, errPermanent):
			d.failure = err.Error() // quarantined as unreadable, with the error
		default:
			return wf.Outcome{}, err // retried
		}
	default:
		return wf.Outcome{}, nonRetryable(ErrTypeBadInput, "document: neither a text hash nor a url")
	}
	sub := submission{tenant: ref.TenantID, workflowID: wid, runID: rid, submitter: Submitter(identity)}
	outs, err := a.process(ctx, sub, []doc{d})
	if err != nil {
		return wf.Outcome{}, err
	}
	out := outs[0]
	out.ReviewTimeout = a.Config.ReviewTimeout
	return out, nil
}
