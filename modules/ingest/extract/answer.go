package extract

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"contextworker/modules/ingest/sno"
)

// answerSchema is the JSON schema of the LLM extractor's answer, sent as
// the request's response_format (json_schema). It keeps to the subset
// strict structured-output servers accept (types, properties, required,
// additionalProperties, enum, items); the bounds it cannot state are in
// its descriptions and the prompt, and checkAnswer enforces all of it:
// the schema guides the model, checkAnswer decides. A test keeps the two
// in step.
//
//go:embed answer.schema.json
var answerSchema []byte

// Limits of an answer. An answer beyond them is invalid; they bound what
// one document's answer can cost to check and store.
const (
	maxTextRunes   = 1000 // hypothesis, claim text, excerpt
	maxEvidence    = 100
	maxEdgesPerArg = 4 // edges per claim, so MaxClaims·4 in all
	maxCiteRunes   = 300
)

// answer is the model's reply. Decoding is strict: unknown keys, a
// missing top-level key (null) or trailing data make it invalid.
type answer struct {
	Hypothesis *string         `json:"hypothesis"`
	Claims     []answerClaim   `json:"claims"`
	Edges      []answerEdge    `json:"edges"`
	Evidence   []answerExcerpt `json:"evidence"`
}

type answerClaim struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

type answerEdge struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Relation sno.Relation `json:"relation"`
	Strength *float64     `json:"strength"`
}

type answerExcerpt struct {
	Excerpt  string `json:"excerpt"`
	Citation string `json:"citation"`
}

// ErrInvalidAnswer is wrapped by the error of a model's answer that does
// not satisfy the schema; the error says which field is wrong, never
// quoting the model's or the document's text.
var ErrInvalidAnswer = errors.New("invalid answer")

var claimID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// toSNO validates content (the model's answer for text, the whole
// document) and maps it onto the SNO the rules extractor would return:
// the root "h" holds the hypothesis, claims become nodes c1…cN in the
// answer's order, edges are added through sno.Graph.AddEdge (so a cycle
// is refused, naming it), and each evidence item is a citation parsed as
// the rules parse citations. Evidence whose excerpt is not in the
// document, or whose citation is not in the document or not a citation,
// is dropped and counted in dropped: a made-up quotation is not
// evidence, and one bad item does not spoil the graph.
func toSNO(content []byte, text string, maxClaims int) (s sno.SNO, dropped int, err error) {
	var a answer
	if err := decodeStrict(content, &a); err != nil {
		return sno.SNO{}, 0, fmt.Errorf("%w: %s", ErrInvalidAnswer, decodeProblem(err))
	}
	if err := checkAnswer(&a, maxClaims); err != nil {
		return sno.SNO{}, 0, fmt.Errorf("%w: %w", ErrInvalidAnswer, err)
	}
	hyp := strings.Join(strings.Fields(*a.Hypothesis), " ")
	s = sno.SNO{SchemaVersion: sno.SchemaVersion, Hypothesis: hyp}
	if err := s.Graph.AddNode(sno.Node{ID: sno.RootID, Type: sno.NodeHypothesis, Text: hyp}); err != nil {
		return sno.SNO{}, 0, err
	}
	ids := map[string]string{sno.RootID: sno.RootID}
	for i, c := range a.Claims {
		id := fmt.Sprintf("c%d", i+1)
		ids[c.ID] = id
		if err := s.Graph.AddNode(sno.Node{ID: id, Type: sno.NodeClaim, Text: strings.Join(strings.Fields(c.Text), " ")}); err != nil {
			return sno.SNO{}, 0, err
		}
	}
	for i, e := range a.Edges {
		edge := sno.Edge{From: ids[e.From], To: ids[e.To], Relation: e.Relation, Strength: *e.Strength}
		if err := s.Graph.AddEdge(edge); err != nil {
			return sno.SNO{}, 0, fmt.Errorf("%w: edges[%d]: %w", ErrInvalidAnswer, i, err)
		}
	}
	body, refs := splitReferences(text)
	flat := strings.Join(strings.Fields(body), " ")
	refList := NewReferences(refs)
	for _, ev := range a.Evidence {
		excerpt := strings.Join(strings.Fields(ev.Excerpt), " ")
		cite := strings.TrimSpace(ev.Citation)
		if !strings.Contains(flat, excerpt) || !strings.Contains(excerpt, cite) {
			dropped++
			continue
		}
		cs := refList.Citations(cite)
		if len(cs) == 0 {
			dropped++
			continue
		}
		s.AddEvidence(sno.NewEvidence(excerpt, cs[0].SourceID, cs[0].Confidence, cs[0].Resolved))
	}
	return s, dropped, nil
}

// checkAnswer checks what strict decoding cannot: presence, lengths,
// bounds, id syntax and uniqueness, known ends and relations, strengths
// in [0,1]. It names the field of every problem.
func checkAnswer(a *answer, maxClaims int) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.Hypothesis == nil || a.Claims == nil || a.Edges == nil || a.Evidence == nil {
		return errors.New("hypothesis, claims, edges and evidence are all required")
	}
	if msg := checkText(*a.Hypothesis, maxTextRunes); msg != "" {
		add("hypothesis: %s", msg)
	}
	if len(a.Claims) > maxClaims {
		add("claims: %d, more than %d", len(a.Claims), maxClaims)
	}
	if max := maxClaims * maxEdgesPerArg; len(a.Edges) > max {
		add("edges: %d, more than %d", len(a.Edges), max)
	}
	if len(a.Evidence) > maxEvidence {
		add("evidence: %d items, more than %d", len(a.Evidence), maxEvidence)
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // too large to look further
	}
	known := map[string]bool{sno.RootID: true}
	for i, c := range a.Claims {
		switch {
		case !claimID.MatchString(c.ID) || c.ID == sno.RootID:
			add("claims[%d].id: must match %s and not be %q", i, claimID, sno.RootID)
		case known[c.ID]:
			add("claims[%d].id: %q repeated", i, c.ID)
		}
		known[c.ID] = true
		if msg := checkText(c.Text, maxTextRunes); msg != "" {
			add("claims[%d].text: %s", i, msg)
		}
	}
	for i, e := range a.Edges {
		for _, end := range []struct{ name, id string }{{"from", e.From}, {"to", e.To}} {
			if !known[end.id] || !claimID.MatchString(end.id) {
				add("edges[%d].%s: not %q or a claim id", i, end.name, sno.RootID)
			}
		}
		if !e.Relation.Valid() {
			add("edges[%d].relation: must be one of %v", i, sno.Relations)
		}
		if e.Strength == nil || !(*e.Strength >= 0 && *e.Strength <= 1) {
			add("edges[%d].strength: must be a number in [0,1]", i)
		}
	}
	for i, ev := range a.Evidence {
		if msg := checkText(ev.Excerpt, maxTextRunes); msg != "" {
			add("evidence[%d].excerpt: %s", i, msg)
		}
		if msg := checkText(ev.Citation, maxCiteRunes); msg != "" {
			add("evidence[%d].citation: %s", i, msg)
		}
	}
	return errors.Join(errs...)
}

// checkText returns why s is not a valid text of at most n runes, or "".
func checkText(s string, n int) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "must not be empty"
	case utf8.RuneCountInString(s) > n:
		return fmt.Sprintf("longer than %d characters", n)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		return "holds control characters"
	}
	return ""
}

// isControl reports control characters other than white space.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f
}

// decodeProblem describes a decoding error without quoting the answer:
// encoding/json's own messages name unknown keys, which are the model's
// text (and may echo the document's).
func decodeProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not one JSON object (syntax error at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: must be a JSON %s", cmp.Or(typ.Field, "answer"), jsonKind(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "a key the schema does not have"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "not one complete JSON object (cut short?)"
	case errors.Is(err, errTrailing):
		return err.Error()
	}
	return "not one JSON object of the schema"
}

// jsonKind names t's JSON type.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array"
	case reflect.Float64:
		return "number"
	}
	return "object"
}

var errTrailing = errors.New("trailing data after the JSON value")

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// keys and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailing
	}
	return nil
}
