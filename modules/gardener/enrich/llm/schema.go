package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"contextworker/modules/gardener/enrich"
)

// promptVersion versions the prompt and the answer schema together. Bump
// it whenever either changes: it is part of every cache key, so old
// answers are not reused for a different question.
const promptVersion = "1"

// item is what the model sees of one product. It is also the content the
// cache key hashes.
type item struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Brand       string `json:"brand,omitempty"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category,omitempty"`
}

func itemOf(p *enrich.Product) item {
	return item{
		SKU:         p.SKU,
		Name:        strings.TrimSpace(p.Name),
		Brand:       strings.TrimSpace(p.Brand),
		Description: truncate(strings.Join(strings.Fields(p.Description), " "), maxDescription),
		Category:    strings.Join(p.CategoryPath, " > "),
	}
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// systemPrompt is the instruction sent with every batch; it states the
// schema the validator enforces.
func systemPrompt(fields []string) string {
	return fmt.Sprintf(`You enrich product data for a catalogue. The user message is a JSON array of products, each with "sku", "name" and optionally "brand", "description" and "category".
For each product, determine these fields: %s.
Answer with one JSON object and nothing else, exactly of this form:
{"items": [{"sku": "<sku of a product from the input>", "fields": {"<field>": "<value>"}}]}
Rules: use only the field names listed above; every value is a non-empty string of at most %d characters; omit a field you cannot determine from the product data; give each sku at most once; add no other keys.`,
		strings.Join(fields, ", "), maxValueRunes)
}

// answer is the schema of the model's reply: {"items": [...]}. Items are
// kept raw so that one invalid item rejects only itself.
type answer struct {
	Items []json.RawMessage `json:"items"`
}

// answerItem is the schema of one item.
type answerItem struct {
	SKU    string            `json:"sku"`
	Fields map[string]string `json:"fields"`
}

// errMalformed marks an answer that is invalid as a whole.
var errMalformed = errors.New("malformed answer")

// rejection is one invalid item of an answer.
type rejection struct {
	SKU, Reason string
}

// parse validates content strictly against the schema. It returns the
// answers by SKU (values trimmed) for SKUs in want, and the items it
// rejected. An answer that is not a single JSON object of the schema's
// top-level shape is errMalformed.
func (e *Enricher) parse(content string, want map[string]bool) (map[string]map[string]string, []rejection, error) {
	var a answer
	if err := decodeStrict([]byte(content), &a); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if a.Items == nil {
		return nil, nil, fmt.Errorf("%w: no items", errMalformed)
	}
	got := make(map[string]map[string]string, len(a.Items))
	var rejected []rejection
	for _, raw := range a.Items {
		var it answerItem
		if err := decodeStrict(raw, &it); err != nil {
			rejected = append(rejected, rejection{Reason: "malformed item"})
			continue
		}
		switch {
		case !want[it.SKU]:
			rejected = append(rejected, rejection{it.SKU, "unknown sku"})
			continue
		case got[it.SKU] != nil:
			rejected = append(rejected, rejection{it.SKU, "duplicate sku"})
			delete(got, it.SKU) // which of the two is right is unknowable
			want = withFalse(want, it.SKU)
			continue
		}
		fields := make(map[string]string, len(it.Fields))
		for k, v := range it.Fields {
			fields[k] = strings.TrimSpace(v)
		}
		if reason := e.checkFields(fields); reason != "" {
			rejected = append(rejected, rejection{it.SKU, reason})
			continue
		}
		got[it.SKU] = fields
	}
	return got, rejected, nil
}

// withFalse returns a copy of m with k false, so a SKU answered twice is
// refused from then on without changing the caller's map.
func withFalse(m map[string]bool, k string) map[string]bool {
	c := make(map[string]bool, len(m))
	for kk, v := range m {
		c[kk] = v
	}
	c[k] = false
	return c
}

// checkFields returns why fields are invalid, or "".
func (e *Enricher) checkFields(fields map[string]string) string {
	if len(fields) == 0 {
		return "no fields"
	}
	for k, v := range fields {
		switch {
		case !e.allowed[k]:
			return "field not allowed"
		case strings.TrimSpace(v) == "":
			return "empty value"
		case utf8.RuneCountInString(v) > maxValueRunes:
			return "value too long"
		case !utf8.ValidString(v) || strings.ContainsFunc(v, isControl):
			return "invalid characters"
		}
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// keys and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
