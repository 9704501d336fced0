// Package attributes is the attributes enricher: it extracts colour, size,
// material, and weight or volume (converted to SI units: kg, m³) from a
// product's name, description and supplier attributes, by rules kept in
// configuration. It only computes; it does no I/O.
package attributes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher.
const (
	Name    = "attributes"
	Version = "1"

	FieldColor    = "attributes.color"
	FieldMaterial = "attributes.material"
	FieldSize     = "attributes.size"
	FieldWeight   = "attributes.weight" // {"unit": "kg", "value": 0.5}
	FieldVolume   = "attributes.volume" // {"unit": "m3", "value": 0.0005}
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config holds the extraction rules.
type Config struct {
	// Colors and Materials map a canonical value to the words that mean
	// it; the canonical value matches too. Matching ignores case and
	// diacritics and is by whole words.
	Colors    map[string][]string `yaml:"colors"`
	Materials map[string][]string `yaml:"materials"`
	// Sizes are regular expressions with one capture group, tried in
	// order; the first match gives the size.
	Sizes  []string `yaml:"sizes"`
	Weight bool     `yaml:"weight"`
	Volume bool     `yaml:"volume"`
}

// DefaultConfig returns the built-in rules (English and German words).
func DefaultConfig() Config {
	return Config{
		Colors: map[string][]string{
			"black": {"schwarz"}, "white": {"weiss"}, "red": {"rot"}, "blue": {"blau"}, "green": {"gruen", "grün"},
			"yellow": {"gelb"}, "grey": {"gray", "grau"}, "silver": {"silber"}, "brown": {"braun"}, "orange": nil, "pink": {"rosa"},
		},
		Materials: map[string][]string{
			"steel": {"stahl", "stainless steel", "edelstahl"}, "wood": {"wooden", "holz"}, "plastic": {"kunststoff", "plastik"},
			"aluminium": {"aluminum", "alu"}, "cotton": {"baumwolle"}, "glass": {"glas"}, "leather": {"leder"},
		},
		Sizes:  []string{`\b(XXS|XS|S|M|L|XL|XXL|XXXL|3XL)\b`, `(?i)\bsize[:\s]+(\d{1,3}(?:[.,]5)?)\b`, `(?i)\bgr(?:ö|oe)(?:ß|ss)e[:\s]+(\d{1,3})\b`},
		Weight: true,
		Volume: true,
	}
}

// Quantity is a measured value in an SI unit.
type Quantity struct {
	// Unit comes first, as in jsonb (keys by length, then bytes): a diff
	// then finds a value equal to the stored one without respelling it.
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

type word struct {
	// padded is the folded word with a space on each side: it matches
	// whole words of a folded text padded the same way.
	padded, canonical string
}

// Enricher extracts attributes.
type Enricher struct {
	cfg       Config
	colors    wordIndex
	materials wordIndex
	sizes     []*regexp.Regexp
	// sizeFilters[i] rules out texts sizes[i] cannot match; sizeWords[i],
	// when not nil, matches in its stead.
	sizeFilters []prefilter
	sizeWords   []wordSet
	wordFilters []*wordFilter
	// foldFilters: some size filter compares without case.
	foldFilters bool
}

// New is the enrich.Factory of the attributes enricher.
func New(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := DefaultConfig()
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return Build(cfg)
}

// Build validates cfg and returns the enricher.
func Build(cfg Config) (*Enricher, error) {
	var errs []error
	e := &Enricher{cfg: cfg}
	e.colors = indexWords(words(cfg.Colors))
	e.materials = indexWords(words(cfg.Materials))
	for i, s := range cfg.Sizes {
		re, err := regexp.Compile(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("sizes[%d]: %q: %w", i, s, err))
		case re.NumSubexp() != 1:
			errs = append(errs, fmt.Errorf("sizes[%d]: %q must have exactly one capture group", i, s))
		}
		e.sizes = append(e.sizes, re)
		f := newPrefilter(s)
		e.sizeFilters = append(e.sizeFilters, f)
		ws := newWordSet(s)
		e.sizeWords = append(e.sizeWords, ws)
		var wf *wordFilter
		if ws != nil {
			wf = ws.filter()
		}
		e.wordFilters = append(e.wordFilters, wf)
		e.foldFilters = e.foldFilters || f.fold
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// words flattens a canonical → synonyms map, longest words first, so
// "stainless steel" wins over "steel" at the same place.
func words(m map[string][]string) []word {
	var out []word
	for c, syn := range m {
		for _, s := range append([]string{c}, syn...) {
			if f := enrich.Fold(s); f != "" {
				out = append(out, word{padded: " " + f + " ", canonical: c})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].padded) != len(out[j].padded) {
			return len(out[i].padded) > len(out[j].padded)
		}
		return out[i].padded < out[j].padded
	})
	return out
}

// Extracted is everything found in one product.
type Extracted struct {
	Color, Material, Size string
	Weight, Volume        *Quantity
}

// Enrich implements enrich.Enricher.
var _ enrich.Splittable = (*Enricher)(nil)

// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

// Inputs implements enrich.InputDeclarer: the name, the description and
// the supplier's attributes.
func (e *Enricher) Inputs() prodfields.Set {
	return prodfields.Name | prodfields.Description | prodfields.Attributes
}

func (e *Enricher) Enrich(_ context.Context, _ enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	var sc scratch
	for _, p := range batch {
		x := e.extract(p, &sc)
		if x.Color != "" {
			out.Set(p, FieldColor, x.Color)
		}
		if x.Material != "" {
			out.Set(p, FieldMaterial, x.Material)
		}
		if x.Size != "" {
			out.Set(p, FieldSize, x.Size)
		}
		if x.Weight != nil {
			sc.value = setQuantity(out, p, FieldWeight, x.Weight, sc.value)
		}
		if x.Volume != nil {
			sc.value = setQuantity(out, p, FieldVolume, x.Volume, sc.value)
		}
	}
	return nil
}

// setQuantity sets field to q, encoded in buf as json.Marshal encodes it,
// and returns buf. A value Marshal refuses (infinite) goes through it, and
// fails as it did.
func setQuantity(out *enrich.Output, p *enrich.Product, field string, q *Quantity, buf []byte) []byte {
	if math.IsInf(q.Value, 0) || math.IsNaN(q.Value) {
		out.Set(p, field, q)
		return buf
	}
	buf = enrich.AppendString(append(buf[:0], `{"unit":`...), q.Unit)
	buf = enrich.AppendFloat(append(buf, `,"value":`...), q.Value)
	buf = append(buf, '}')
	out.SetJSON(p, field, buf)
	return buf
}

// Extract finds the attributes of p: in its name first, then its
// description, then its supplier attributes' values.
func (e *Enricher) Extract(p *enrich.Product) Extracted {
	var sc scratch
	return e.extract(p, &sc)
}

// scratch is the memory one goroutine's extractions reuse.
type scratch struct {
	folded, lower []byte
	value         []byte
	keys          []string
	attrs         strings.Builder
}

func (e *Enricher) extract(p *enrich.Product, sc *scratch) Extracted {
	texts := [3]string{p.Name, p.Description}
	if len(p.Attributes) > 0 {
		texts[2] = sc.attributeText(p.Attributes)
	}
	var x Extracted
	for _, t := range texts {
		if t == "" {
			continue
		}
		if x.Color == "" || x.Material == "" {
			// Folding is most of the cost of a long description: only
			// when a word is still to be found.
			sc.folded = append(enrich.AppendFold(append(sc.folded[:0], ' '), t), ' ')
			// find keeps no part of the text: it may see the buffer.
			folded := unsafe.String(&sc.folded[0], len(sc.folded))
			color, material := findPair(&e.colors, &e.materials, folded, x.Color == "", x.Material == "")
			if x.Color == "" {
				x.Color = color
			}
			if x.Material == "" {
				x.Material = material
			}
		}
		if x.Size == "" {
			x.Size = e.size(t, sc)
		}
		if (e.cfg.Weight || e.cfg.Volume) && mayHoldQuantity(t) {
			w, v := quantities(t)
			if x.Weight == nil && e.cfg.Weight {
				x.Weight = w
			}
			if x.Volume == nil && e.cfg.Volume {
				x.Volume = v
			}
		}
	}
	return x
}

// attributeText is the values of attrs by key, each followed by ". ", as
// fmt's %v prints them.
func (sc *scratch) attributeText(attrs map[string]any) string {
	sc.keys = sc.keys[:0]
	for k := range attrs {
		sc.keys = append(sc.keys, k)
	}
	sort.Strings(sc.keys)
	sc.attrs.Reset() // the text is kept (a size is a part of it): a new one each time
	for _, k := range sc.keys {
		if s, ok := attrs[k].(string); ok {
			sc.attrs.WriteString(s)
			sc.attrs.WriteString(". ")
		} else {
			fmt.Fprintf(&sc.attrs, "%v. ", attrs[k])
		}
	}
	return sc.attrs.String()
}

// size returns the first size of t, by the first pattern that matches it.
func (e *Enricher) size(t string, sc *scratch) string {
	lower, special := "", false
	if e.foldFilters {
		// The filters keep no part of lower: it may see the buffer.
		sc.lower = appendASCIILower(sc.lower[:0], t)
		if len(sc.lower) > 0 {
			lower = unsafe.String(&sc.lower[0], len(sc.lower))
		}
		special = hasFoldSpecial(t)
	}
	for i, re := range e.sizes {
		if ws := e.sizeWords[i]; ws != nil {
			if m, ok := ws.findFiltered(t, e.wordFilters[i]); ok {
				return m // word characters: no comma
			}
			continue
		}
		if !e.sizeFilters[i].mayMatchLower(t, lower, special) {
			continue
		}
		if m := re.FindStringSubmatch(t); m != nil {
			return strings.ReplaceAll(m[1], ",", ".")
		}
	}
	return ""
}

// wordIndex holds words by their first folded token, each list in the
// order of words (longest first).
type wordIndex struct {
	words map[string][]word
	// firstLen[c] has bit n set when a first token begins with byte c and
	// is n bytes long (63: longer): most tokens of a text are ruled out
	// by it without hashing them.
	firstLen [256]uint64
}

func indexWords(ws []word) wordIndex {
	x := wordIndex{words: make(map[string][]word)}
	for _, w := range ws {
		first, _, _ := strings.Cut(w.padded[1:], " ")
		x.words[first] = append(x.words[first], w)
		x.firstLen[first[0]] |= lenBit(len(first))
	}
	return x
}

func lenBit(n int) uint64 { return 1 << min(n, 63) }

// findPair returns the canonical value of the word of a (when needA) and
// of b (when needB) that occurs first in folded (a folded text padded with
// spaces); of words at the same place, the longest. One walk of the text's
// tokens serves both: each token is looked up rather than the text
// searched for each word, and only tokens whose first byte and length some
// word has.
func findPair(a, b *wordIndex, folded string, needA, needB bool) (inA, inB string) {
	for p := 0; p < len(folded) && (needA || needB); p++ {
		if folded[p] != ' ' {
			continue
		}
		end := strings.IndexByte(folded[p+1:], ' ')
		if end < 0 {
			break
		}
		if end > 0 {
			c, bit := folded[p+1], lenBit(end)
			token := folded[p+1 : p+1+end]
			if needA && a.firstLen[c]&bit != 0 {
				if inA = a.at(token, folded[p:]); inA != "" {
					needA = false
				}
			}
			if needB && b.firstLen[c]&bit != 0 {
				if inB = b.at(token, folded[p:]); inB != "" {
					needB = false
				}
			}
		}
		p += end
	}
	return inA, inB
}

// at returns the canonical value of the longest word that begins with
// token and at rest (the text from the space before token on).
func (x *wordIndex) at(token, rest string) string {
	for _, w := range x.words[token] {
		if strings.HasPrefix(rest, w.padded) {
			return w.canonical
		}
	}
	return ""
}

// quantityPattern finds a number and a unit; "fl oz" precedes "oz".
var quantityPattern = regexp.MustCompile(`(?i)(\d+(?:[.,]\d+)?)\s*(fl\.?\s?oz|kg|mg|g|lbs?|oz|t|ml|cl|dl|l|ltr|litres?|liters?|gal)\b`)

var unitSeparators = strings.NewReplacer(".", "", " ", "")

// mayHoldQuantity reports whether s may match quantityPattern: whether
// some run of digits (with the separators a number may hold) is followed,
// after white space, by a letter a unit begins with. Most texts hold no
// quantity, and this costs a fraction of the pattern.
func mayHoldQuantity(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
			i++
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\f' || s[i] == '\r') {
			i++
		}
		if i == len(s) {
			return false
		}
		if unitAt(s[i:]) {
			return true
		}
		i-- // s[i] may begin the next run of digits
	}
	return false
}

// units are quantityPattern's units but "fl oz", lower-case.
var units = [...]string{"kg", "mg", "g", "lbs", "lb", "oz", "t", "ml", "cl", "dl", "l", "ltr", "litres", "litre", "liters", "liter", "gal"}

// unitAt reports whether s may begin with one of quantityPattern's units
// followed by a word boundary. Without case, "k" also matches the Kelvin
// sign and "s" the long s: a unit with a character outside ASCII is left to
// the pattern.
func unitAt(s string) bool {
	var w [8]byte // the longest unit ("litres", "fl. oz") and the byte after it
	n := 0
	for ; n < len(w) && n < len(s); n++ {
		c := s[n]
		if c >= utf8.RuneSelf {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		w[n] = c
	}
	word := string(w[:n])
	// boundary: \b after k bytes of a unit (which ends in a letter).
	boundary := func(k int) bool { return k == n || !isWordByte(w[k]) }
	for _, u := range units {
		if strings.HasPrefix(word, u) && boundary(len(u)) {
			return true
		}
	}
	if !strings.HasPrefix(word, "fl") {
		return false
	}
	k := 2 // fl\.?\s?oz
	if k < n && w[k] == '.' {
		k++
	}
	if k < n && (w[k] == ' ' || w[k] == '\t' || w[k] == '\n' || w[k] == '\f' || w[k] == '\r') {
		k++
	}
	return strings.HasPrefix(word[k:], "oz") && boundary(k+2)
}

// toSI converts a unit to kg (weights) or m³ (volumes).
var toSI = map[string]struct {
	factor float64
	unit   string
}{
	"kg": {1, "kg"}, "g": {1e-3, "kg"}, "mg": {1e-6, "kg"}, "t": {1000, "kg"}, "lb": {0.45359237, "kg"}, "lbs": {0.45359237, "kg"},
	"oz": {0.028349523125, "kg"}, "ml": {1e-6, "m3"}, "cl": {1e-5, "m3"}, "dl": {1e-4, "m3"}, "l": {1e-3, "m3"}, "ltr": {1e-3, "m3"},
	"liter": {1e-3, "m3"}, "liters": {1e-3, "m3"}, "litre": {1e-3, "m3"}, "litres": {1e-3, "m3"}, "gal": {3.785411784e-3, "m3"},
	"floz": {2.95735295625e-5, "m3"},
}

// quantities returns the first weight and the first volume in s.
func quantities(s string) (weight, volume *Quantity) {
	for _, m := range quantityPattern.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", "."), 64)
		if err != nil {
			continue
		}
		unit := strings.ToLower(unitSeparators.Replace(m[2]))
		c, ok := toSI[unit]
		if !ok {
			continue
		}
		q := &Quantity{Value: round(n * c.factor), Unit: c.unit}
		if c.unit == "kg" && weight == nil {
			weight = q
		} else if c.unit == "m3" && volume == nil {
			volume = q
		}
	}
	return weight, volume
}

// round keeps 9 significant digits, so that conversions like 0.5 × 1e-3
// store as 0.0005 and not 0.0005000000000000001.
func round(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 9, 64), 64)
	return r
}
