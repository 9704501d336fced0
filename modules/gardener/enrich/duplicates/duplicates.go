// Package duplicates is the duplicates enricher: it gives each product a
// group key (its GTIN, or optionally its normalised brand and name), and,
// once a run's batches are written, gathers the products sharing a key
// across suppliers into canonical product groups (tables product_groups and
// product_group_members) with one set-based pass.
package duplicates

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // an id derived from a key, not security; SQL's md5() must agree
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unsafe"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher.
const (
	Name    = "duplicates"
	Version = "1"
	// Field is {"by": "gtin", "key": "gtin:04006381333931", "group_id": "g…"}.
	Field = "group"
	// BrandField is the brand enricher's field, read when it ran first.
	BrandField = "brand"
	// MarkTouched marks, in a sparse run, the keys its products had or
	// now have: the groups its pass may have to rebuild.
	MarkTouched = "duplicates.touched_key"
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config says how products are matched.
type Config struct {
	ByGTIN bool `yaml:"by_gtin"`
	// ByBrandName matches products without a GTIN by normalised brand plus
	// name. It can join different products with equal names: off by default.
	ByBrandName bool `yaml:"by_brand_name"`
	// MinMembers is the least number of active products that form a group.
	MinMembers int `yaml:"min_members"`
}

// Value is the stored field value. Its keys are in jsonb's order (by
// length, then bytes), so a diff finds the value equal to the stored one
// without respelling it.
type Value struct {
	By      string `json:"by"`
	Key     string `json:"key"`
	GroupID string `json:"group_id"`
}

// Enricher assigns group keys and maintains groups.
type Enricher struct{ cfg Config }

var (
	_ enrich.Enricher   = (*Enricher)(nil)
	_ enrich.Finisher   = (*Enricher)(nil)
	_ enrich.Splittable = (*Enricher)(nil)
)

// New is the enrich.Factory of the duplicates enricher.
func New(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := Config{ByGTIN: true, MinMembers: 2}
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return Build(cfg)
}

// Build validates cfg and returns the enricher.
func Build(cfg Config) (*Enricher, error) {
	if cfg.MinMembers < 2 {
		return nil, fmt.Errorf("min_members: must be >= 2, got %d", cfg.MinMembers)
	}
	if !cfg.ByGTIN && !cfg.ByBrandName {
		return nil, fmt.Errorf("by_gtin, by_brand_name: enable at least one (or disable the enricher)")
	}
	return &Enricher{cfg: cfg}, nil
}

// GroupID derives a group's id from its key, as the SQL pass does.
func GroupID(key string) string {
	sum := md5.Sum([]byte(key)) //nolint:gosec // see import
	return "g" + hex.EncodeToString(sum[:])[:16]
}

// Key returns p's group key, or false when p cannot be matched.
func (e *Enricher) Key(p *enrich.Product) (Value, bool) {
	if e.cfg.ByGTIN && p.GTIN != "" {
		g := strings.TrimLeft(p.GTIN, "0")
		g = strings.Repeat("0", max(0, 14-len(g))) + g // GTIN-8/12/13 as GTIN-14
		return value("gtin:"+g, "gtin"), true
	}
	if !e.cfg.ByBrandName {
		return Value{}, false
	}
	brand := enrich.Fold(p.Brand)
	var b struct {
		Key string `json:"key"`
	}
	if raw := p.Value(BrandField); raw != nil && json.Unmarshal(raw, &b) == nil && b.Key != "" {
		brand = b.Key
	}
	name := enrich.Fold(p.Name)
	// Suppliers often repeat the brand in the name; drop it so "Bosch
	// Drill X1" and "Drill X1" by Bosch match.
	name = strings.TrimSpace(strings.TrimPrefix(" "+name+" ", " "+brand+" "))
	if brand == "" || name == "" {
		return Value{}, false
	}
	return value("bn:"+brand+"|"+name, "brand_name"), true
}

func value(key, by string) Value { return Value{Key: key, By: by, GroupID: GroupID(key)} }

// appendGTINKey appends the key of a GTIN: "gtin:" and the GTIN as GTIN-14.
func appendGTINKey(dst []byte, gtin string) []byte {
	g := strings.TrimLeft(gtin, "0")
	dst = append(dst, "gtin:"...)
	for range 14 - len(g) {
		dst = append(dst, '0')
	}
	return append(dst, g...)
}

// appendValue appends value(key, by) as json.Marshal encodes it.
func appendValue(dst, key []byte, by string) []byte {
	// The encoder keeps no part of the key: it may see the buffer.
	dst = enrich.AppendString(append(dst, `{"by":`...), by)
	dst = enrich.AppendString(append(dst, `,"key":`...), unsafe.String(unsafe.SliceData(key), len(key)))
	sum := md5.Sum(key) //nolint:gosec // see import
	dst = append(dst, `,"group_id":"g`...)
	dst = hex.AppendEncode(dst, sum[:8]) // GroupID: 16 hex digits
	return append(dst, `"}`...)
}

// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

// Inputs implements enrich.InputDeclarer: what the configured keys are
// made of. A product that became active in the window counts as changed in
// every column, so it is read whatever its columns.
func (e *Enricher) Inputs() prodfields.Set {
	var s prodfields.Set
	if e.cfg.ByGTIN {
		s |= prodfields.GTIN
	}
	if e.cfg.ByBrandName {
		s |= prodfields.Brand | prodfields.Name
	}
	return s
}

// Enrich implements enrich.Enricher.
func (e *Enricher) Enrich(_ context.Context, run enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	var key, value, scratch []byte
	for _, p := range batch {
		var by string
		if e.cfg.ByGTIN && p.GTIN != "" {
			// Key's GTIN key, encoded without a string allocated for it.
			key, by = appendGTINKey(key[:0], p.GTIN), "gtin"
		} else if v, ok := e.Key(p); ok {
			key, by = append(key[:0], v.Key...), v.By
		} else {
			key = key[:0]
		}
		if by != "" {
			value = appendValue(value[:0], key, by)
			out.SetJSON(p, Field, value)
		}
		if run.Sparse && p.Changed {
			scratch = markTouched(p, key, by, scratch, out)
		}
	}
	return nil
}

// markTouched marks the keys whose groups a changed product of a sparse
// run may have changed (the pass rebuilds those: see Finish): the key it
// left, and the key it holds now (key, empty for none) when it joined it,
// by a new key or by becoming active in the window. A product that was
// active before the window and keeps its key changes no group, so a price
// change marks nothing. The stored key is what the groups were built from:
// a run that wrote keys and ended before its pass leaves its marks to the
// tenant's next run (Begin adopts them). scratch is a buffer to reuse; it
// is returned.
func markTouched(p *enrich.Product, key []byte, by string, scratch []byte, out *enrich.Output) []byte {
	raw := p.Stored[Field]
	if raw != nil && by != "" && plain(key) {
		// Most products keep their key: the stored value is then this
		// run's value as jsonb spells it, compared without decoding it.
		scratch = appendStored(scratch[:0], key, by)
		if bytes.Equal(raw, scratch) {
			if p.Activated {
				out.Mark(MarkTouched, string(key))
			}
			return scratch
		}
	}
	var old Value
	if raw == nil || json.Unmarshal(raw, &old) != nil {
		old.Key = ""
	}
	if len(key) > 0 && (p.Activated || old.Key != string(key)) {
		out.Mark(MarkTouched, string(key))
	}
	if old.Key != "" && old.Key != string(key) {
		out.Mark(MarkTouched, old.Key)
	}
	return scratch
}

// plain reports whether key is printable ASCII that JSON and jsonb write
// as it is (no quote, backslash or control character).
func plain(key []byte) bool {
	for _, c := range key {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendStored appends value(key, by) as PostgreSQL prints it stored in
// jsonb (keys by length, then bytes; ", " and ": "), for a plain key.
func appendStored(dst, key []byte, by string) []byte {
	dst = append(dst, `{"by": "`...)
	dst = append(dst, by...)
	dst = append(dst, `", "key": "`...)
	dst = append(dst, key...)
	sum := md5.Sum(key) //nolint:gosec // see import
	dst = append(dst, `", "group_id": "g`...)
	dst = hex.AppendEncode(dst, sum[:8])
	return append(dst, `"}`...)
}

// FinishFields implements enrich.Finisher: the pass writes group tables only.
func (e *Enricher) FinishFields() []string { return nil }
