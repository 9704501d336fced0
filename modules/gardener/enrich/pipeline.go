package enrich

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"gopkg.in/yaml.v3"

	"contextworker/internal/prodfields"
)

// Spec configures one enricher: an item of modules.gardener.enrichers in
// temporal.yaml. The list's order is the order enrichers run in.
type Spec struct {
	Name string `yaml:"name"`
	// Enabled defaults to true; false keeps the entry (and its rules)
	// without running it. Fields it stored earlier stay as they are.
	Enabled *bool `yaml:"enabled"`
	// Config is the enricher's own section, decoded strictly by its factory.
	Config yaml.Node `yaml:"config"`
}

// On reports whether the spec is enabled.
func (s Spec) On() bool { return s.Enabled == nil || *s.Enabled }

// Step is one built enricher of a pipeline.
type Step struct {
	Name string
	// Version is the effective version: the code's registered version plus
	// a fingerprint of the configuration (rules), so that editing a rule
	// re-enriches what that enricher produced, and nothing else.
	Version  string
	Enricher Enricher
}

// Pipeline runs enabled enrichers in their configured order.
type Pipeline struct {
	steps []Step
}

// Build decodes and builds every spec (disabled ones too, so their
// configuration is checked) and returns the pipeline of the enabled ones.
// Every problem is reported, each naming its item.
func (r *Registry) Build(specs []Spec, deps Deps) (*Pipeline, error) {
	var (
		p    Pipeline
		errs []error
		seen = make(map[string]bool)
	)
	for i, s := range specs {
		path := fmt.Sprintf("enrichers[%d]", i)
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s: enricher %q is listed twice", path, s.Name))
			continue
		}
		seen[s.Name] = true
		reg, err := r.Lookup(s.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		var decoded any
		decode := func(v any) error {
			decoded = v
			return decodeStrict(&s.Config, v)
		}
		e, err := reg.Factory(decode, deps)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s).config: %w", path, s.Name, err))
			continue
		}
		if s.On() {
			p.steps = append(p.steps, Step{Name: reg.Name, Version: reg.Version + "+" + fingerprint(decoded, e), Enricher: e})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &p, nil
}

// decodeStrict decodes n into v, refusing unknown keys. yaml.Node.Decode
// cannot refuse them, so the node goes through a strict decoder.
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return nil // no config section: defaults
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

func fingerprint(cfg any, e Enricher) string {
	h := sha256.New()
	if cfg != nil {
		b, _ := json.Marshal(cfg) //nolint:errchkjson // configs are plain data; a failure only weakens the hash
		h.Write(b)
	}
	if f, ok := e.(Fingerprinter); ok {
		h.Write([]byte{0})
		h.Write([]byte(f.Fingerprint()))
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// NewPipeline returns a pipeline of ready steps, for tests.
func NewPipeline(steps ...Step) *Pipeline { return &Pipeline{steps: steps} }

// Steps returns the pipeline's steps in order (a copy).
func (p *Pipeline) Steps() []Step { return slices.Clone(p.steps) }

// Inputs returns the product columns the pipeline's enrichers read: a
// product none of them changed in gets the same results as before.
func (p *Pipeline) Inputs() prodfields.Set {
	var s prodfields.Set
	for _, st := range p.steps {
		s |= InputsOf(st.Enricher)
	}
	return s
}

// Ran says that enricher ran on the product at Index of a batch: its
// stored fields not produced again are to be removed.
type Ran struct {
	Index    int
	Enricher string
}

// Outcome is what running a pipeline over a batch produced, beside the
// results recorded on each product.
type Outcome struct {
	Ran     []Ran
	Tallies map[Tally]int64
	// Marks are what the enrichers marked (Output.Mark), in no order.
	Marks []Tally
}

// Run runs every step, in order, over the products of batch it applies to:
// on changed products, the steps that read a column that changed (all of
// them unless the product says which did not: Product.Unchanged), and
// stale steps (named in stale) on every product.
func (p *Pipeline) Run(ctx context.Context, run Run, batch []*Product, stale []string) (Outcome, error) {
	out := Outcome{Tallies: make(map[Tally]int64), Ran: make([]Ran, 0, len(batch)*len(p.steps))}
	sub := make([]*Product, 0, len(batch))
	idx := make([]int, 0, len(batch))
	p.reserveResults(batch, stale)
	for _, st := range p.steps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		isStale := slices.Contains(stale, st.Name)
		inputs := InputsOf(st.Enricher)
		sub, idx = sub[:0], idx[:0]
		for i, pr := range batch {
			if isStale || pr.Changed && pr.reads(inputs) {
				sub = append(sub, pr)
				idx = append(idx, i)
			}
		}
		if len(sub) == 0 {
			continue
		}
		o := &Output{enricher: st.Name, version: st.Version, tallies: out.Tallies, marks: &out.Marks}
		if err := st.Enricher.Enrich(ctx, run, sub, o); err != nil {
			return out, fmt.Errorf("enricher %s: %w", st.Name, err)
		}
		if o.err != nil {
			return out, o.err
		}
		for _, i := range idx {
			out.Ran = append(out.Ran, Ran{Index: i, Enricher: st.Name})
		}
	}
	return out, nil
}

// reserveResults gives each product of batch that has no results yet room
// for one a step it runs (every step on changed products, the stale ones
// on the others), all in one allocation: appended one by one, results
// cost a few allocations a product. A product that gets more grows its own.
func (p *Pipeline) reserveResults(batch []*Product, stale []string) {
	nStale := 0
	for _, st := range p.steps {
		if slices.Contains(stale, st.Name) {
			nStale++
		}
	}
	per := func(pr *Product) int {
		if pr.results != nil {
			return 0
		}
		if pr.Changed {
			return min(len(p.steps), 8)
		}
		return min(nStale, 8)
	}
	n := 0
	for _, pr := range batch {
		n += per(pr)
	}
	if n == 0 {
		return
	}
	backing := make([]Result, n)
	for _, pr := range batch {
		if k := per(pr); k > 0 {
			pr.results, backing = backing[:0:k], backing[k:]
		}
	}
}

// Splittable is implemented by enrichers whose Enrich works on each
// product alone and is safe to call from several goroutines at once: a
// batch may then be cut into parts enriched side by side. Enrichers that
// batch requests to a service (llm) or look across products do not
// implement it.
type Splittable interface {
	Splittable()
}

// minSplit is the least number of products a part of a split batch has:
// below it, a goroutine costs more than it saves.
const minSplit = 256

// RunSplit is Run over up to parts parts of batch at once, when every step
// is Splittable; otherwise, or for a small batch, it is Run. The outcome
// is the one Run would give, its Ran in another order.
func (p *Pipeline) RunSplit(ctx context.Context, run Run, batch []*Product, stale []string, parts int) (Outcome, error) {
	parts = min(parts, len(batch)/minSplit)
	if parts < 2 || !p.splittable() {
		return p.Run(ctx, run, batch, stale)
	}
	outs := make([]Outcome, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(batch)/parts, (i+1)*len(batch)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = p.Run(ctx, run, batch[lo:hi], stale)
			for j := range outs[i].Ran {
				outs[i].Ran[j].Index += lo
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Tallies: make(map[Tally]int64)}
	for _, o := range outs {
		out.Ran = append(out.Ran, o.Ran...)
		out.Marks = append(out.Marks, o.Marks...)
		for t, n := range o.Tallies {
			out.Tallies[t] += n
		}
	}
	return out, nil
}

func (p *Pipeline) splittable() bool {
	for _, st := range p.steps {
		if _, ok := st.Enricher.(Splittable); !ok {
			return false
		}
	}
	return true
}
