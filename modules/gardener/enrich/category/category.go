// Package category is the category enricher: it maps supplier category
// paths onto the tenant's taxonomy by explicit rules, then by exact name,
// then by a fuzzy match of the leaf names. Paths it cannot map are tallied
// for the run report. It reads its taxonomy file once, when built.
package category

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher.
const (
	Name    = "category"
	Version = "1"
	// Field is the enrichment field: {"path": "A > B", "by": "rule", "score": 1}.
	Field = "category"
	// TallyUnmapped counts supplier paths that map to nothing, by path.
	TallyUnmapped = "unmapped_category"
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config is the enricher's section.
type Config struct {
	// TaxonomyFile lists the tenant's categories, one path per line with
	// segments separated by ">"; blank lines and lines from # are ignored.
	TaxonomyFile string `yaml:"taxonomy_file"`
	// Taxonomy adds paths inline (tests, small catalogues).
	Taxonomy []string `yaml:"taxonomy"`
	// Rules are tried in order; the first that matches wins.
	Rules []Rule `yaml:"rules"`
	// FuzzyThreshold (0..1) is the least leaf-name similarity a fuzzy match
	// needs; 0 turns fuzzy matching off.
	FuzzyThreshold float64 `yaml:"fuzzy_threshold"`
}

// Rule maps supplier paths to a taxonomy path. Set exactly one of Prefix
// (segments compared without case, diacritics or punctuation) or Regex
// (matched against the path joined with " > ").
type Rule struct {
	Prefix   string `yaml:"prefix"`
	Regex    string `yaml:"regex"`
	Supplier string `yaml:"supplier"`
	Category string `yaml:"category"`
}

// Value is the stored field value.
type Value struct {
	Path  string  `json:"path"`
	By    string  `json:"by"`
	Score float64 `json:"score"`
}

type rule struct {
	prefix   []string
	re       *regexp.Regexp
	supplier string
	category string
}

type node struct {
	path   string
	folded string // whole path, folded
	leaf   string // folded leaf name
	grams  map[string]bool
}

// Enricher maps categories. It is safe for concurrent use.
type Enricher struct {
	threshold float64
	rules     []rule
	nodes     []node
	byPath    map[string]string   // folded path → path
	byLeaf    map[string][]string // folded leaf → paths

	mu    sync.Mutex
	cache map[string]*Value // supplier + path → result (nil: unmapped)
}

// New is the enrich.Factory of the category enricher.
func New(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := Config{FuzzyThreshold: 0.6}
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	paths := slices.Clone(cfg.Taxonomy)
	if cfg.TaxonomyFile != "" {
		b, err := os.ReadFile(cfg.TaxonomyFile)
		if err != nil {
			return nil, fmt.Errorf("taxonomy_file: %w", err)
		}
		paths = append(paths, ParseTaxonomy(b)...)
	}
	return Build(cfg, paths)
}

// ParseTaxonomy reads a taxonomy file: one path per line.
func ParseTaxonomy(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func split(path string) []string {
	var segs []string
	for _, s := range strings.Split(path, ">") {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// Build validates cfg against the taxonomy paths and returns the enricher.
func Build(cfg Config, taxonomy []string) (*Enricher, error) {
	var errs []error
	if cfg.FuzzyThreshold < 0 || cfg.FuzzyThreshold > 1 {
		errs = append(errs, fmt.Errorf("fuzzy_threshold: must be between 0 and 1, got %v", cfg.FuzzyThreshold))
	}
	if len(taxonomy) == 0 {
		errs = append(errs, errors.New("taxonomy: empty: set taxonomy_file or taxonomy"))
	}
	e := &Enricher{threshold: cfg.FuzzyThreshold, byPath: make(map[string]string), byLeaf: make(map[string][]string), cache: make(map[string]*Value)}
	for _, raw := range taxonomy {
		segs := split(raw)
		if len(segs) == 0 {
			continue
		}
		path := strings.Join(segs, " > ")
		folded := foldPath(segs)
		if _, dup := e.byPath[folded]; dup {
			continue
		}
		leaf := enrich.Fold(segs[len(segs)-1])
		e.byPath[folded] = path
		e.byLeaf[leaf] = append(e.byLeaf[leaf], path)
		e.nodes = append(e.nodes, node{path: path, folded: folded, leaf: leaf, grams: trigrams(leaf)})
	}
	for i, r := range cfg.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		cr := rule{supplier: r.Supplier}
		switch {
		case (r.Prefix == "") == (r.Regex == ""):
			errs = append(errs, fmt.Errorf("%s: set exactly one of prefix and regex", p))
		case r.Prefix != "":
			for _, s := range split(r.Prefix) {
				cr.prefix = append(cr.prefix, enrich.Fold(s))
			}
		default:
			re, err := regexp.Compile(r.Regex)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.regex: %q: %w", p, r.Regex, err))
			}
			cr.re = re
		}
		target, ok := e.byPath[foldPath(split(r.Category))]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.category: %q is not in the taxonomy", p, r.Category))
		}
		cr.category = target
		e.rules = append(e.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

func foldPath(segs []string) string {
	f := make([]string, len(segs))
	for i, s := range segs {
		f[i] = enrich.Fold(s)
	}
	return strings.Join(f, "/")
}

// Fingerprint implements enrich.Fingerprinter: the taxonomy file's
// content is part of the enricher's version.
func (e *Enricher) Fingerprint() string {
	paths := make([]string, len(e.nodes))
	for i, n := range e.nodes {
		paths[i] = n.path
	}
	return strings.Join(paths, "\n")
}

// Enrich implements enrich.Enricher.
var _ enrich.Splittable = (*Enricher)(nil)

// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

// Inputs implements enrich.InputDeclarer: the supplier's category path.
func (e *Enricher) Inputs() prodfields.Set { return prodfields.CategoryPath }

func (e *Enricher) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	for _, p := range batch {
		v := e.Map(p.SupplierCode, p.CategoryPath)
		if v == nil {
			key := strings.Join(p.CategoryPath, " > ")
			if key == "" {
				key = "(none)"
			}
			out.Count(TallyUnmapped, key)
			continue
		}
		out.Set(p, Field, v)
	}
	return nil
}

// Map maps one supplier path; nil when nothing matches.
func (e *Enricher) Map(supplier string, path []string) *Value {
	var segs []string
	for _, s := range path {
		segs = append(segs, split(s)...)
	}
	if len(segs) == 0 {
		return nil
	}
	key := supplier + "\x00" + strings.Join(segs, "\x00")
	e.mu.Lock()
	v, hit := e.cache[key]
	e.mu.Unlock()
	if hit {
		return v
	}
	v = e.resolve(supplier, segs)
	e.mu.Lock()
	e.cache[key] = v
	e.mu.Unlock()
	return v
}

func (e *Enricher) resolve(supplier string, segs []string) *Value {
	folded := make([]string, len(segs))
	for i, s := range segs {
		folded[i] = enrich.Fold(s)
	}
	joined := strings.Join(segs, " > ")
	for _, r := range e.rules {
		if r.supplier != "" && r.supplier != supplier {
			continue
		}
		if r.re != nil && r.re.MatchString(joined) || r.re == nil && hasPrefix(folded, r.prefix) {
			return &Value{Path: r.category, By: "rule", Score: 1}
		}
	}
	if p, ok := e.byPath[strings.Join(folded, "/")]; ok {
		return &Value{Path: p, By: "exact", Score: 1}
	}
	leaf := folded[len(folded)-1]
	if ps := e.byLeaf[leaf]; len(ps) == 1 {
		return &Value{Path: ps[0], By: "exact", Score: 1}
	}
	if e.threshold == 0 {
		return nil
	}
	// Fuzzy: the most similar leaf, then the most similar ancestry as a
	// tie breaker, then the first path in the taxonomy, so results never
	// depend on map order.
	g := trigrams(leaf)
	var parent map[string]bool
	if len(folded) > 1 {
		parent = trigrams(strings.Join(folded[:len(folded)-1], " "))
	}
	best, bestScore, bestTie := -1, 0.0, 0.0
	for i, n := range e.nodes {
		s := dice(g, n.grams)
		if s < e.threshold || s < bestScore {
			continue
		}
		tie := 0.0
		if parent != nil {
			if ns := strings.Split(n.folded, "/"); len(ns) > 1 {
				tie = dice(parent, trigrams(strings.Join(ns[:len(ns)-1], " ")))
			}
		}
		if s > bestScore || tie > bestTie {
			best, bestScore, bestTie = i, s, tie
		}
	}
	if best < 0 {
		return nil
	}
	return &Value{Path: e.nodes[best].path, By: "fuzzy", Score: float64(int(bestScore*1000+0.5)) / 1000}
}

func hasPrefix(path, prefix []string) bool {
	return len(prefix) > 0 && len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// trigrams returns the character trigrams of s padded with spaces, which
// tolerate typos, plural endings and word order better than words do.
func trigrams(s string) map[string]bool {
	r := []rune("  " + s + " ")
	out := make(map[string]bool, len(r))
	for i := 0; i+3 <= len(r); i++ {
		out[string(r[i:i+3])] = true
	}
	return out
}

// dice is the Sørensen–Dice similarity of two trigram sets.
func dice(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	n := 0
	for g := range a {
		if b[g] {
			n++
		}
	}
	return 2 * float64(n) / float64(len(a)+len(b))
}
