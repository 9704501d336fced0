package ingest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"contextworker/internal/llm"
	"contextworker/modules/ingest/admission"
	"contextworker/modules/ingest/critic"
	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/extract"
)

// Config is the ingest module's section of temporal.yaml (modules.ingest).
type Config struct {
	// FileRoot is the directory batch dir and jsonl paths are relative
	// to; "" refuses them.
	FileRoot string `yaml:"file_root"`
	// Network is the policy for fetching document URLs.
	Network Network `yaml:"network"`
	// FetchTimeout bounds one URL fetch.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// ChunkSize is how many documents one Chunk activity processes;
	// SubBatch how many it scores and commits together (its checkpoint
	// step); Window how many chunks a batch keeps in flight.
	ChunkSize int `yaml:"chunk_size"`
	SubBatch  int `yaml:"sub_batch"`
	Window    int `yaml:"window"`
	// MaxBatchDocuments bounds what one batch may list.
	MaxBatchDocuments int           `yaml:"max_batch_documents"`
	ChunkTimeout      time.Duration `yaml:"chunk_timeout"`
	HeartbeatTimeout  time.Duration `yaml:"heartbeat_timeout"`
	MaxHistoryEvents  int           `yaml:"max_history_events"`
	// ReviewTimeout is how long an ingest workflow waits for an
	// operator's decision on a quarantined SNO; 0 does not wait.
	ReviewTimeout time.Duration `yaml:"review_timeout"`
	// MaxClaims bounds the claims an extractor takes (rules) or accepts
	// (llm).
	MaxClaims int `yaml:"max_claims"`
	// Extractor selects how SNOs are extracted; Embedder how texts are
	// embedded. The defaults are offline: rules and hashing.
	Extractor Extractor `yaml:"extractor"`
	Embedder  Embedder  `yaml:"embedder"`
	// Preset names the critic weights (default, exploration,
	// verification); Weights, when set, overrides it.
	Preset  string          `yaml:"preset"`
	Weights *critic.Weights `yaml:"weights"`
	// Admission holds the trust threshold and the poisoning defences.
	Admission admission.Config `yaml:"admission"`
}

// Network says which addresses document URLs may reach.
type Network struct {
	AllowLoopback bool `yaml:"allow_loopback"`
	AllowPrivate  bool `yaml:"allow_private"`
}

// DefaultConfig returns the ingest defaults.
func DefaultConfig() *Config {
	return &Config{
		FetchTimeout: 30 * time.Second, ChunkSize: 500, SubBatch: 100, Window: 4,
		MaxBatchDocuments: 1_000_000, ChunkTimeout: 30 * time.Minute, HeartbeatTimeout: 30 * time.Second,
		MaxHistoryEvents: 5000, ReviewTimeout: 24 * time.Hour, MaxClaims: 20, Preset: "default",
		Admission: admission.DefaultConfig(),
		Extractor: Extractor{Kind: ExtractorRules, LLM: LLMExtractor{Config: llmDefaults(1 << 20),
			MaxInputBytes: extract.DefaultMaxInputBytes, ResponseFormat: "json_schema"}},
		Embedder: Embedder{Kind: EmbedderHashing, OpenAI: OpenAIEmbedder{Config: llmDefaults(8 << 20),
			BatchSize: embed.DefaultBatchSize, MaxInputBytes: embed.DefaultMaxInputBytes}},
	}
}

// Extractor kinds.
const (
	ExtractorRules = "rules"
	ExtractorLLM   = "llm"
)

// Extractor is modules.ingest.extractor.
type Extractor struct {
	// Kind is rules (default: offline, deterministic) or llm.
	Kind string `yaml:"kind"`
	// LLM configures the llm extractor; read only with kind llm.
	LLM LLMExtractor `yaml:"llm"`
}

// LLMExtractor is modules.ingest.extractor.llm: the chat-completions
// endpoint (url, model, api_key, timeout, max_retries, min_backoff,
// max_backoff, requests_per_second, burst, max_response_bytes, as
// internal/llm reads them) and what is sent. Documents are sent to url:
// setting kind llm is the operator's consent to that.
type LLMExtractor struct {
	llm.Config `yaml:",inline"`
	// MaxInputBytes bounds the document text sent (cut at a rune
	// boundary).
	MaxInputBytes int `yaml:"max_input_bytes"`
	// ResponseFormat is json_schema (structured outputs, the default) or
	// json_object for servers without them; answers are validated the
	// same way either way.
	ResponseFormat string `yaml:"response_format"`
}

// Embedder kinds.
const (
	EmbedderHashing = "hashing"
	EmbedderOpenAI  = "openai"
)

// Embedder is modules.ingest.embedder.
type Embedder struct {
	// Kind is hashing (default: offline, deterministic) or openai.
	Kind string `yaml:"kind"`
	// OpenAI configures the openai embedder; read only with kind openai.
	OpenAI OpenAIEmbedder `yaml:"openai"`
}

// OpenAIEmbedder is modules.ingest.embedder.openai: the /embeddings
// endpoint (the same transport keys as the llm extractor) and the
// vectors' shape.
type OpenAIEmbedder struct {
	llm.Config `yaml:",inline"`
	// Dimensions is the dimension of the model's vectors (required): a
	// vector of another dimension is an error, and it is part of the
	// embedder's name, so vectors of another model or dimension are never
	// compared with these.
	Dimensions int `yaml:"dimensions"`
	// SendDimensions sends dimensions in each request, for models that
	// shorten their vectors on request (text-embedding-3-*).
	SendDimensions bool `yaml:"send_dimensions"`
	// BatchSize bounds the texts per request; MaxInputBytes each text.
	BatchSize     int `yaml:"batch_size"`
	MaxInputBytes int `yaml:"max_input_bytes"`
}

func llmDefaults(maxResponse int64) llm.Config {
	c := llm.DefaultConfig()
	c.MaxResponseBytes = maxResponse
	return c
}

// validate checks the extractor section when it is used.
func (e *Extractor) validate() []error {
	switch e.Kind {
	case ExtractorRules:
		return nil
	case ExtractorLLM:
	default:
		return []error{fmt.Errorf("extractor.kind: %q is not an extractor (known: %s, %s)", e.Kind, ExtractorRules, ExtractorLLM)}
	}
	l := e.LLM
	errs := transportProblems("extractor.llm", l.Config)
	if l.MaxInputBytes < 1 || l.MaxInputBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("extractor.llm.max_input_bytes: must be 1..%d, got %d", 1<<20, l.MaxInputBytes))
	}
	if l.ResponseFormat != "json_schema" && l.ResponseFormat != "json_object" {
		errs = append(errs, fmt.Errorf("extractor.llm.response_format: %q must be json_schema or json_object", l.ResponseFormat))
	}
	return errs
}

// validate checks the embedder section when it is used.
func (e *Embedder) validate() []error {
	switch e.Kind {
	case EmbedderHashing:
		return nil
	case EmbedderOpenAI:
	default:
		return []error{fmt.Errorf("embedder.kind: %q is not an embedder (known: %s, %s)", e.Kind, EmbedderHashing, EmbedderOpenAI)}
	}
	o := e.OpenAI
	errs := transportProblems("embedder.openai", o.Config)
	if o.Dimensions < 1 || o.Dimensions > 16384 {
		errs = append(errs, fmt.Errorf("embedder.openai.dimensions: must be 1..16384 (the model's vector size), got %d", o.Dimensions))
	}
	if o.BatchSize < 1 || o.BatchSize > 2048 {
		errs = append(errs, fmt.Errorf("embedder.openai.batch_size: must be 1..2048, got %d", o.BatchSize))
	}
	if o.MaxInputBytes < 1 || o.MaxInputBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("embedder.openai.max_input_bytes: must be 1..%d, got %d", 1<<20, o.MaxInputBytes))
	}
	return errs
}

// transportProblems is internal/llm's validation of c, each problem under
// path, plus a rule of ours: the URL carries no credentials (errors and
// history may show it; the key goes in api_key, as a secret ref).
func transportProblems(path string, c llm.Config) []error {
	var errs []error
	credentials := false
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		credentials = true
		errs = append(errs, fmt.Errorf("%s.url: must not hold credentials; put the key in api_key (env:, file: or credential:)", path))
	}
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			if credentials && strings.HasPrefix(e.Error(), "url:") {
				continue // it would quote the credentials
			}
			errs = append(errs, fmt.Errorf("%s.%w", path, e))
		}
	}
	return errs
}

// CriticWeights returns the configured critic weights.
func (c *Config) CriticWeights() (critic.Weights, error) {
	if c.Weights != nil {
		return *c.Weights, c.Weights.Validate()
	}
	return critic.Preset(c.Preset)
}

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.FetchTimeout <= 0 {
		add("fetch_timeout", "must be > 0, got %s", c.FetchTimeout)
	}
	if c.ChunkSize < 1 || c.ChunkSize > 100_000 {
		add("chunk_size", "must be 1..100000, got %d", c.ChunkSize)
	}
	if c.SubBatch < 1 || c.SubBatch > c.ChunkSize {
		add("sub_batch", "must be 1..chunk_size, got %d", c.SubBatch)
	}
	if c.Window < 1 || c.Window > 64 {
		add("window", "must be 1..64, got %d", c.Window)
	}
	if c.MaxBatchDocuments < 1 {
		add("max_batch_documents", "must be >= 1, got %d", c.MaxBatchDocuments)
	}
	if c.HeartbeatTimeout <= 0 {
		add("heartbeat_timeout", "must be > 0, got %s", c.HeartbeatTimeout)
	}
	if c.ChunkTimeout <= c.HeartbeatTimeout {
		add("chunk_timeout", "must be longer than heartbeat_timeout, got %s", c.ChunkTimeout)
	}
	if c.MaxHistoryEvents != 0 && c.MaxHistoryEvents < 200 {
		add("max_history_events", "must be 0 (server decides) or >= 200, got %d", c.MaxHistoryEvents)
	}
	if c.ReviewTimeout < 0 {
		add("review_timeout", "must be >= 0, got %s", c.ReviewTimeout)
	}
	if c.MaxClaims < 1 || c.MaxClaims > 1000 {
		add("max_claims", "must be 1..1000, got %d", c.MaxClaims)
	}
	if c.Weights != nil {
		if err := c.Weights.Validate(); err != nil {
			add("weights", "%v", err)
		}
	} else if _, err := critic.Preset(c.Preset); err != nil {
		add("preset", "%v", err)
	}
	errs = append(errs, c.Extractor.validate()...)
	errs = append(errs, c.Embedder.validate()...)
	if err := c.Admission.Validate(); err != nil {
		for _, e := range unjoin(err) {
			errs = append(errs, fmt.Errorf("admission.%w", e))
		}
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
