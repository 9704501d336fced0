// Package brand is the brand enricher: it normalises supplier brand names
// to one spelling per brand (aliases, case, diacritics), so products from
// different suppliers compare. It only computes; it does no I/O.
package brand

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher. Bump Version when a code change
// alters results.
const (
	Name    = "brand"
	Version = "1"
	// Field is the enrichment field written: {"name": "Bosch", "key": "bosch"}.
	Field = "brand"
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config is the enricher's section (modules.gardener.enrichers[].config).
type Config struct {
	// Aliases maps a canonical brand to the spellings suppliers use.
	// Matching ignores case, diacritics and punctuation.
	Aliases map[string][]string `yaml:"aliases"`
	// Case is applied to brands without an alias: keep, title, upper or
	// lower. title only changes names written all in one case, and keeps
	// all-capital words of up to three letters (AEG, 3M).
	Case string `yaml:"case"`
}

// Value is the stored field value.
type Value struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Enricher normalises brands.
type Enricher struct {
	cfg     Config
	aliases map[string]string // folded spelling → canonical
}

// New is the enrich.Factory of the brand enricher.
func New(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := Config{Case: "title"}
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return Build(cfg)
}

// Build validates cfg and returns the enricher.
func Build(cfg Config) (*Enricher, error) {
	switch cfg.Case {
	case "keep", "title", "upper", "lower":
	default:
		return nil, fmt.Errorf("case: %q must be keep, title, upper or lower", cfg.Case)
	}
	e := &Enricher{cfg: cfg, aliases: make(map[string]string)}
	canon := make([]string, 0, len(cfg.Aliases))
	for c := range cfg.Aliases {
		canon = append(canon, c)
	}
	sort.Strings(canon) // deterministic conflict report
	for _, c := range canon {
		for _, s := range append([]string{c}, cfg.Aliases[c]...) {
			k := enrich.Fold(s)
			if k == "" {
				return nil, fmt.Errorf("aliases.%s: %q has no letters or digits", c, s)
			}
			if prev, dup := e.aliases[k]; dup && prev != c {
				return nil, fmt.Errorf("aliases: %q is an alias of both %q and %q", s, prev, c)
			}
			e.aliases[k] = c
		}
	}
	return e, nil
}

// Enrich implements enrich.Enricher.
var _ enrich.Splittable = (*Enricher)(nil)

// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

func (e *Enricher) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	for _, p := range batch {
		if v, ok := e.Normalize(p.Brand); ok {
			out.Set(p, Field, v)
		}
	}
	return nil
}

// Normalize returns the brand's canonical spelling and key; false when the
// supplier gave no brand.
func (e *Enricher) Normalize(raw string) (Value, bool) {
	raw = strings.Join(strings.Fields(raw), " ")
	key := enrich.Fold(raw)
	if key == "" {
		return Value{}, false
	}
	if c, ok := e.aliases[key]; ok {
		return Value{Name: c, Key: enrich.Fold(c)}, true
	}
	name := raw
	switch e.cfg.Case {
	case "upper":
		name = strings.ToUpper(raw)
	case "lower":
		name = strings.ToLower(raw)
	case "title":
		name = title(raw)
	}
	return Value{Name: name, Key: key}, true
}

// title capitalises names written in one case: "BOSCH" and "bosch" become
// "Bosch"; "McCulloch" and "AEG" stay.
func title(s string) string {
	if s != strings.ToUpper(s) && s != strings.ToLower(s) {
		return s
	}
	upper := s == strings.ToUpper(s)
	words := strings.Fields(s)
	for i, w := range words {
		if upper && utf8.RuneCountInString(w) <= 3 {
			continue
		}
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToTitle(r)) + strings.ToLower(w[n:])
	}
	return strings.Join(words, " ")
}
