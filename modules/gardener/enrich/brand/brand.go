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
	"unsafe"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher. Bump Version when a code change
// alters results.
const (
	Name    = "brand"
	Version = "1"
	// Field is the enrichment field written: {"key": "bosch", "name": "Bosch"}.
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

// Value is the stored field value. Its keys are in jsonb's order (by
// length, then bytes), so a diff finds the value equal to the stored one
// without respelling it.
type Value struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Enricher normalises brands.
type Enricher struct {
	cfg     Config
	aliases map[string]string // folded spelling → canonical
	// canonical holds the value of each canonical brand, encoded.
	canonical map[string][]byte
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
	e := &Enricher{cfg: cfg, aliases: make(map[string]string), canonical: make(map[string][]byte)}
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
		e.canonical[c] = appendValue(nil, c, enrich.Fold(c))
	}
	return e, nil
}

// Enrich implements enrich.Enricher.
var _ enrich.Splittable = (*Enricher)(nil)

// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

// Inputs implements enrich.InputDeclarer: the brand.
func (e *Enricher) Inputs() prodfields.Set { return prodfields.Brand }

func (e *Enricher) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	var sc scratch
	for _, p := range batch {
		if v, ok := e.appendNormalized(&sc, p.Brand); ok {
			out.SetJSON(p, Field, v)
		}
	}
	return nil
}

// scratch is the memory one goroutine's normalisations reuse.
type scratch struct{ key, name, value []byte }

// appendNormalized returns the encoded value Normalize(raw) gives, as
// json.Marshal encodes it, in sc's memory: Normalize without a string
// allocated for what is only encoded.
func (e *Enricher) appendNormalized(sc *scratch, raw string) ([]byte, bool) {
	raw = collapseSpace(raw)
	sc.key = enrich.AppendFold(sc.key[:0], raw)
	if len(sc.key) == 0 {
		return nil, false
	}
	if c, ok := e.aliases[string(sc.key)]; ok {
		return e.canonical[c], true
	}
	// The encoders keep no part of what they are given: they may see
	// the buffers.
	key := unsafe.String(&sc.key[0], len(sc.key))
	name := raw
	switch e.cfg.Case {
	case "upper":
		name = strings.ToUpper(raw)
	case "lower":
		name = strings.ToLower(raw)
	case "title":
		if b, ok := appendTitleASCII(sc.name[:0], raw); ok {
			sc.name = b
			name = unsafe.String(unsafe.SliceData(b), len(b))
		} else {
			name = title(raw)
		}
	}
	sc.value = appendValue(sc.value[:0], name, key)
	return sc.value, true
}

// appendValue appends Value{Key: key, Name: name} as json.Marshal encodes
// it.
func appendValue(dst []byte, name, key string) []byte {
	dst = enrich.AppendString(append(dst, `{"key":`...), key)
	dst = enrich.AppendString(append(dst, `,"name":`...), name)
	return append(dst, '}')
}

// collapseSpace is strings.Join(strings.Fields(s), " "), without a copy
// when s has no space to collapse.
func collapseSpace(s string) string {
	space := true // at the start: a leading space is collapsed
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' && !space {
				space = true
			} else if asciiSpace[c] {
				return strings.Join(strings.Fields(s), " ")
			} else {
				space = false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			return strings.Join(strings.Fields(s), " ")
		}
		space = false
		i += n
	}
	if space && len(s) > 0 {
		return strings.Join(strings.Fields(s), " ") // a trailing space
	}
	return s
}

// asciiSpace: the ASCII bytes strings.Fields splits at.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// appendTitleASCII appends title(s) for s all ASCII, with single spaces
// between words and none around them (collapseSpace's); false, and dst as
// it was, for s with other characters.
func appendTitleASCII(dst []byte, s string) ([]byte, bool) {
	hasLower, hasUpper := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			return dst, false
		case 'a' <= c && c <= 'z':
			hasLower = true
		case 'A' <= c && c <= 'Z':
			hasUpper = true
		}
	}
	if hasLower && hasUpper {
		return append(dst, s...), true // mixed case: kept
	}
	upper := !hasLower
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			j = len(s)
		} else {
			j += i
		}
		w := s[i:j]
		if upper && len(w) <= 3 {
			dst = append(dst, w...)
		} else {
			c := w[0]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			for k := 1; k < len(w); k++ {
				c := w[k]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
			}
		}
		if j < len(s) {
			dst = append(dst, ' ')
		}
		i = j + 1
	}
	return dst, true
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
