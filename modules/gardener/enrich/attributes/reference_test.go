package attributes

import (
	"fmt"
	"sort"
	"strings"

	"contextworker/modules/gardener/enrich"
)

// extractReference is Extract as it was before it reused buffers: the
// definition the faster one must agree with.
func (e *Enricher) extractReference(p *enrich.Product) Extracted {
	texts := []string{p.Name, p.Description}
	if len(p.Attributes) > 0 {
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%v. ", p.Attributes[k])
		}
		texts = append(texts, b.String())
	}
	var x Extracted
	for _, t := range texts {
		if t == "" {
			continue
		}
		if x.Color == "" || x.Material == "" {
			folded := " " + enrich.Fold(t) + " "
			if x.Color == "" {
				x.Color = findReference(e.colors, folded)
			}
			if x.Material == "" {
				x.Material = findReference(e.materials, folded)
			}
		}
		if x.Size == "" {
			lower, special := "", false
			if e.foldFilters {
				lower, special = asciiLowerReference(t), hasFoldSpecial(t)
			}
			for i, re := range e.sizes {
				if ws := e.sizeWords[i]; ws != nil {
					if m, ok := ws.find(t); ok {
						x.Size = m
						break
					}
					continue
				}
				if !e.sizeFilters[i].mayMatchLower(t, lower, special) {
					continue
				}
				if m := re.FindStringSubmatch(t); m != nil {
					x.Size = strings.ReplaceAll(m[1], ",", ".")
					break
				}
			}
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

func findReference(x wordIndex, folded string) string {
	for p := 0; p < len(folded); p++ {
		if folded[p] != ' ' {
			continue
		}
		end := strings.IndexByte(folded[p+1:], ' ')
		if end < 0 {
			break
		}
		for _, w := range x.words[folded[p+1:p+1+end]] {
			if strings.HasPrefix(folded[p:], w.padded) {
				return w.canonical
			}
		}
		p += end
	}
	return ""
}

func asciiLowerReference(s string) string {
	b := []byte(s)
	for i := range b {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// find returns the first run of word characters in s that is in the set.
func (ws wordSet) find(s string) (string, bool) {
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		if _, ok := ws[s[i:j]]; ok {
			return s[i:j], true
		}
		i = j
	}
	return "", false
}
