// Package llm is the optional llm enricher: it asks an OpenAI-compatible
// chat-completions endpoint for a few short fields per product (category,
// colour, material…), in batches, under a rate limit, with retries.
//
// Every answer is validated strictly against a fixed schema; invalid
// answers are rejected and never stored. Validated answers are cached by
// the content sent, so an unchanged product is never sent twice. The
// enricher is off unless listed in modules.gardener.enrichers. Its factory
// does no I/O: the API key is resolved when a batch is enriched.
package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	chat "contextworker/internal/llm"
	"contextworker/internal/prodfields"
	"contextworker/internal/secret"
	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher. Bump Version when a code change
// alters results.
const (
	Name    = "llm"
	Version = "1"
	// FieldPrefix prefixes every field written: asking for "color" writes
	// "llm_color", so the enricher never competes with the rule-based ones
	// (category, attributes) for a field.
	FieldPrefix = "llm_"
)

// Tallies counted per run (enrich.Output.Count), keyed by a short reason.
const (
	// TallyRejected counts answer items that failed validation.
	TallyRejected = "llm_rejected"
	// TallyGaveUp counts products left without an answer.
	TallyGaveUp = "llm_gave_up"
	// TallyCache counts cache hits ("hit") and products sent ("sent").
	TallyCache = "llm_cache"
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config is the enricher's section (modules.gardener.enrichers[].config).
//
// Only the fields that change answers (model, fields) take part in the
// version fingerprint: the others carry json:"-", so tuning the endpoint,
// batching or rate limit never re-enriches the catalogue.
type Config struct {
	// URL is the chat-completions endpoint, e.g.
	// http://127.0.0.1:8000/v1/chat/completions.
	URL string `yaml:"url" json:"-"`
	// Model is sent as the request's model.
	Model string `yaml:"model" json:"model"`
	// APIKey is sent as a bearer token; optional for local servers.
	APIKey secret.Ref `yaml:"api_key" json:"-"`
	// BatchSize is the number of products per request.
	BatchSize int `yaml:"batch_size" json:"-"`
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration `yaml:"timeout" json:"-"`
	// MaxRetries is the number of retries after a failed attempt (429,
	// 5xx, timeout, network error).
	MaxRetries int `yaml:"max_retries" json:"-"`
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries; MaxBackoff also caps a server's Retry-After.
	MinBackoff time.Duration `yaml:"min_backoff" json:"-"`
	MaxBackoff time.Duration `yaml:"max_backoff" json:"-"`
	// RequestsPerSecond and Burst configure the instance's rate limiter.
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"-"`
	Burst             int     `yaml:"burst" json:"-"`
	// Fields are the names the model is asked for; each is written as
	// FieldPrefix+name with a string value.
	Fields []string `yaml:"fields" json:"fields"`
}

// DefaultConfig returns the defaults a YAML section overrides.
func DefaultConfig() Config {
	return Config{
		BatchSize:         20,
		Timeout:           30 * time.Second,
		MaxRetries:        3,
		MinBackoff:        500 * time.Millisecond,
		MaxBackoff:        30 * time.Second,
		RequestsPerSecond: 2,
		Burst:             1,
		Fields:            []string{"category", "color", "material"},
	}
}

// Limits of the schema and configuration.
const (
	maxFields      = 16
	maxValueRunes  = 200
	maxBatchSize   = 100
	maxDescription = 1000 // runes of description sent
)

var fieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// client is the chat client's part of the configuration.
func (c Config) client() chat.Config {
	return chat.Config{URL: c.URL, Model: c.Model, APIKey: c.APIKey, Timeout: c.Timeout,
		MaxRetries: c.MaxRetries, MinBackoff: c.MinBackoff, MaxBackoff: c.MaxBackoff,
		RequestsPerSecond: c.RequestsPerSecond, Burst: c.Burst}
}

// Validate checks cfg, joining every problem.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, a...)...))
	}
	// The endpoint, key, timeouts, retries and rate follow internal/llm's
	// rules; its problems join this list one by one, so that callers that
	// prefix each problem with its config path see every one.
	if err := c.client().Validate(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		add("batch_size", "must be 1..%d, got %d", maxBatchSize, c.BatchSize)
	}
	if len(c.Fields) == 0 || len(c.Fields) > maxFields {
		add("fields", "must list 1..%d names, got %d", maxFields, len(c.Fields))
	}
	seen := make(map[string]bool)
	for i, f := range c.Fields {
		switch {
		case !fieldPattern.MatchString(f):
			add(fmt.Sprintf("fields[%d]", i), "%q must match %s", f, fieldPattern)
		case seen[f]:
			add(fmt.Sprintf("fields[%d]", i), "%q is listed twice", f)
		}
		seen[f] = true
	}
	return errors.Join(errs...)
}

// Enricher asks a chat-completions endpoint for fields.
type Enricher struct {
	cfg     Config
	allowed map[string]bool
	system  string // the system prompt, fixed by the configured fields
	// client is the chat-completions transport (timeouts, retries, rate
	// limit, bounded responses); tests replace its hooks.
	client *chat.Client
	cache  enrich.Cache
	log    *slog.Logger
}

var (
	_ enrich.Enricher      = (*Enricher)(nil)
	_ enrich.Fingerprinter = (*Enricher)(nil)
)

// New is the enrich.Factory of the llm enricher.
func New(decode enrich.Decode, deps enrich.Deps) (enrich.Enricher, error) {
	cfg := DefaultConfig()
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return Build(cfg, deps)
}

// Build validates cfg and returns the enricher. deps.HTTP, deps.Cache and
// deps.Logger are optional: without a cache every product is sent.
func Build(cfg Config, deps enrich.Deps) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Enricher{
		cfg:     cfg,
		allowed: make(map[string]bool, len(cfg.Fields)),
		system:  systemPrompt(cfg.Fields),
		cache:   deps.Cache,
		log:     deps.Logger,
	}
	c, err := chat.New(cfg.client(), deps.HTTP, deps.Env)
	if err != nil {
		return nil, err
	}
	e.client = c
	for _, f := range cfg.Fields {
		e.allowed[f] = true
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Fingerprint implements enrich.Fingerprinter: a prompt change re-enriches.
func (e *Enricher) Fingerprint() string {
	h := sha256.Sum256([]byte(promptVersion + "\x00" + e.system))
	return hex.EncodeToString(h[:8])
}

// Inputs implements enrich.InputDeclarer: what the model sees of a
// product (itemOf).
func (e *Enricher) Inputs() prodfields.Set {
	return prodfields.Name | prodfields.Brand | prodfields.Description | prodfields.CategoryPath
}

// Enrich implements enrich.Enricher. Products answered from the cache are
// not sent. A batch the endpoint fails on or answers invalidly is given up
// (counted, logged), not an error: the run goes on. Such products keep the
// llm fields they had stored, so a failure never erases earlier answers.
func (e *Enricher) Enrich(ctx context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	// Products with identical content share one cache key and one question.
	byKey := make(map[string][]*enrich.Product)
	var order []string
	items := make(map[string]item)
	for _, p := range batch {
		it := itemOf(p)
		k := e.cacheKey(it)
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
			items[k] = it
		}
		byKey[k] = append(byKey[k], p)
	}

	answers := make(map[string]map[string]string, len(order))
	if e.cache != nil && len(order) > 0 {
		cached, err := e.cache.Get(ctx, order)
		if err != nil {
			return fmt.Errorf("llm: %w", err)
		}
		for k, raw := range cached {
			var fields map[string]string
			// A cached answer is re-validated: the field list may differ
			// only through a bug, but nothing invalid is ever written.
			if json.Unmarshal(raw, &fields) != nil || e.checkFields(fields) != "" {
				continue
			}
			answers[k] = fields
			out.Count(TallyCache, "hit")
		}
	}

	var todo []string
	for _, k := range order {
		if _, ok := answers[k]; !ok {
			todo = append(todo, k)
		}
	}
	if len(todo) > 0 {
		key, err := e.client.Key()
		if err != nil {
			return err
		}
		fresh := make(map[string]json.RawMessage)
		for _, chunk := range chunks(todo, items, e.cfg.BatchSize) {
			got, err := e.ask(ctx, key, chunk, items, out)
			if err != nil {
				return err
			}
			for k, fields := range got {
				answers[k] = fields
				b, err := json.Marshal(fields)
				if err != nil {
					return fmt.Errorf("llm: %w", err)
				}
				fresh[k] = b
			}
		}
		if e.cache != nil && len(fresh) > 0 {
			if err := e.cache.Put(ctx, fresh); err != nil {
				return fmt.Errorf("llm: %w", err)
			}
		}
	}

	for _, k := range order {
		fields, ok := answers[k]
		for _, p := range byKey[k] {
			if !ok {
				out.Count(TallyGaveUp, "unanswered")
				e.keepStored(p, out)
				continue
			}
			for _, f := range e.cfg.Fields {
				if v, ok := fields[f]; ok {
					out.Set(p, FieldPrefix+f, v)
				}
			}
		}
	}
	return nil
}

// keepStored writes p's stored llm fields again, so a product left without
// an answer keeps them instead of having them removed.
func (e *Enricher) keepStored(p *enrich.Product, out *enrich.Output) {
	for _, f := range e.cfg.Fields {
		var v string
		if raw := p.Stored[FieldPrefix+f]; raw != nil && json.Unmarshal(raw, &v) == nil {
			out.Set(p, FieldPrefix+f, v)
		}
	}
}

// cacheKey identifies an answer: the prompt and schema version, the model,
// the fields asked for and the product content sent. The content is what
// the model sees, so a change elsewhere in the product (price, stock) is
// answered from the cache.
func (e *Enricher) cacheKey(it item) string {
	b, _ := json.Marshal(it) //nolint:errchkjson // strings only
	h := sha256.New()
	for _, s := range []string{promptVersion, e.cfg.Model, strings.Join(e.cfg.Fields, ","), string(b)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "llm:" + hex.EncodeToString(h.Sum(nil))
}

// chunks splits keys into requests of at most size items, starting a new
// one rather than sending one SKU twice in a request (SKUs are unique per
// supplier only), since answers are matched by SKU.
func chunks(keys []string, items map[string]item, size int) [][]string {
	var (
		out [][]string
		cur []string
		sku = make(map[string]bool)
	)
	for _, k := range keys {
		s := items[k].SKU
		if len(cur) == size || sku[s] {
			out, cur, sku = append(out, cur), nil, make(map[string]bool)
		}
		cur = append(cur, k)
		sku[s] = true
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
