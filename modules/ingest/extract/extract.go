// Package extract turns a document's text into the parts of an SNO: the
// hypothesis, the claims of its reasoning graph and its evidence. The
// default Rules extractor is offline and deterministic; it must never do
// I/O. The optional LLM extractor sends the text to the one configured
// chat endpoint and must never accept an answer it has not validated, nor
// quote the text, the answer or the API key in an error. Extractors are
// pluggable through the Extractor interface.
package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"contextworker/modules/ingest/sno"
)

// Extractor builds an SNO's hypothesis, graph and evidence from text,
// and sets its Extractor to the Name of the extractor that built it (a
// fallback's when one did). The caller sets the id, embedding and scores.
type Extractor interface {
	// Name identifies the extractor and its rules' version.
	Name() string
	Extract(ctx context.Context, text string) (sno.SNO, error)
}

// ErrNoHypothesis is returned for a text with no sentence to take as its
// hypothesis.
var ErrNoHypothesis = errors.New("no sentence to take as the hypothesis")

// Rules is the default extractor:
//   - the hypothesis is the first sentence with a claim marker ("we
//     propose / argue / show / find …"), else the first sentence over 30
//     characters, else the first sentence;
//   - claims are the other sentences with a reasoning marker (because,
//     therefore, thus, hence, so that …), at most MaxClaims; each is an
//     edge to the hypothesis (IMPLIES for a conclusion marker, WEAKENS for
//     a contrast marker, else SUPPORTS), and a conclusion that directly
//     follows another claim also gets an IMPLIES edge from that claim;
//   - evidence is every citation ([n], (Author 2023), doi:…, URLs) with
//     the sentence it appears in as its excerpt. Sentences under a
//     "References" heading are the reference list: they resolve [n] and
//     (Author Year) citations and are neither claims nor evidence.
type Rules struct {
	// MaxClaims bounds the claims taken (default 20).
	MaxClaims int
}

// Name implements Extractor.
func (Rules) Name() string { return "rules-v1" }

var (
	claimMarker       = regexp.MustCompile(`(?i)\b(we|i|this (paper|study|article|work|note)|the authors?|our (results|data|analysis))\s+(propose|proposes|argue|argues|show|shows|find|finds|found|demonstrate|demonstrates|claim|claims|conclude|concludes|hypothesi[sz]e|suggest|suggests)\b`)
	supportMarkers    = []string{"because", "since", "so that", "given that", "due to"}
	conclusionMarkers = []string{"therefore", "thus", "hence", "consequently", "as a result", "it follows that", "which implies"}
	contrastMarkers   = []string{"however", "although", "whereas", "nevertheless"}
	referencesHead    = regexp.MustCompile(`(?im)^\s*#*\s*(references|bibliography|works cited|sources)\s*:?\s*$`)
)

// Extract implements Extractor.
func (r Rules) Extract(_ context.Context, text string) (sno.SNO, error) {
	maxClaims := r.MaxClaims
	if maxClaims <= 0 {
		maxClaims = 20
	}
	body, refs := splitReferences(text)
	sents := Sentences(body)
	hyp := -1
	for i, s := range sents {
		if claimMarker.MatchString(s) {
			hyp = i
			break
		}
	}
	for i, s := range sents {
		if hyp < 0 && len(s) > 30 {
			hyp = i
		}
	}
	if hyp < 0 && len(sents) > 0 {
		hyp = 0
	}
	if hyp < 0 {
		return sno.SNO{}, fmt.Errorf("extract: %w", ErrNoHypothesis)
	}
	s := sno.SNO{SchemaVersion: sno.SchemaVersion, Hypothesis: sents[hyp], Extractor: r.Name()}
	if err := s.Graph.AddNode(sno.Node{ID: sno.RootID, Type: sno.NodeHypothesis, Text: sents[hyp]}); err != nil {
		return sno.SNO{}, err
	}
	prev := "" // the claim of the previous sentence, if it was one
	for i, sent := range sents {
		if i == hyp {
			prev = ""
			continue
		}
		rel, ok := relation(sent)
		if !ok || len(s.Graph.Nodes) > maxClaims {
			prev = ""
			continue
		}
		id := fmt.Sprintf("c%d", len(s.Graph.Nodes))
		// Edges only point from a claim to the root or from an earlier
		// claim to a later one, so the graph cannot have a cycle.
		if err := s.Graph.AddNode(sno.Node{ID: id, Type: sno.NodeClaim, Text: sent}); err != nil {
			return sno.SNO{}, err
		}
		if err := s.Graph.AddEdge(sno.Edge{From: id, To: sno.RootID, Relation: rel, Strength: strength[rel]}); err != nil {
			return sno.SNO{}, err
		}
		if prev != "" && rel == sno.Implies {
			if err := s.Graph.AddEdge(sno.Edge{From: prev, To: id, Relation: sno.Implies, Strength: strength[sno.Implies]}); err != nil {
				return sno.SNO{}, err
			}
		}
		prev = id
	}
	refList := NewReferences(refs)
	for _, sent := range sents {
		for _, c := range refList.Citations(sent) {
			s.AddEvidence(sno.NewEvidence(sent, c.SourceID, c.Confidence, c.Resolved))
		}
	}
	return s, nil
}

// strength is the edge strength the rules give each relation: a marker
// says which way a sentence leans, not how strongly, so these are fixed.
var strength = map[sno.Relation]float64{sno.Supports: 0.6, sno.Implies: 0.7, sno.Weakens: 0.5}

func relation(sent string) (sno.Relation, bool) {
	low := strings.ToLower(sent)
	switch {
	case hasMarker(low, contrastMarkers):
		return sno.Weakens, true
	case hasMarker(low, conclusionMarkers):
		return sno.Implies, true
	case hasMarker(low, supportMarkers):
		return sno.Supports, true
	}
	return "", false
}

// hasMarker reports whether lower (a lower-cased sentence) holds one of
// markers as whole words. Plain substring search: the extractor's hot
// path, where case-insensitive regexps cost more than all else.
func hasMarker(lower string, markers []string) bool {
	for _, m := range markers {
		for i := 0; ; {
			j := strings.Index(lower[i:], m)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(m)
			if (start == 0 || !isWordByte(lower[start-1])) && (end == len(lower) || !isWordByte(lower[end])) {
				return true
			}
			i = start + 1
		}
	}
	return false
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 0x80
}

// splitReferences cuts text at its last references heading: the body
// before, the reference list after ("" when there is none).
func splitReferences(text string) (body, refs string) {
	var last []int
	if lower, ascii := asciiLower(text); !ascii {
		if loc := referencesHead.FindAllStringIndex(text, -1); len(loc) > 0 {
			last = loc[len(loc)-1]
		}
	} else {
		// The matches FindAllStringIndex would find, one at a time, each
		// searched from the line where it can first start.
		for pos := 0; ; {
			from := headingFrom(text, lower, pos)
			if from < 0 {
				break
			}
			m := referencesHead.FindStringIndex(text[from:])
			if m == nil {
				break
			}
			last = []int{from + m[0], from + m[1]}
			pos = last[1]
		}
	}
	if last == nil {
		return text, ""
	}
	return text[:last[0]], text[last[1]:]
}

var headingWords = [][]byte{[]byte("references"), []byte("bibliography"), []byte("works cited"), []byte("sources")}

// asciiLower returns text lower-cased, and whether it is ASCII.
func asciiLower(text string) ([]byte, bool) {
	lower := make([]byte, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 0x80 {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return lower, true
}

// headingFrom returns a line start at or after pos before which no match
// of referencesHead starting at or after pos can start, or -1 when there
// is none; lower is the ASCII text lower-cased. A match holds a heading
// word preceded, back to its line start, by white space and '#' only, so
// none starts before the line holding the run of those before the first
// heading word at or after pos. Matching text[from:] then finds the same
// next match as matching on from pos (^ holds at a line start as at the
// start of a text). ASCII only: there (?i) folds A-Z alone, where in
// other texts 'ſ' matches s and the Kelvin sign k.
func headingFrom(text string, lower []byte, pos int) int {
	first := -1
	for _, w := range headingWords {
		if i := bytes.Index(lower[pos:], w); i >= 0 && (first < 0 || pos+i < first) {
			first = pos + i
		}
	}
	if first < 0 {
		return -1
	}
	i := first
	for i > pos && strings.IndexByte(" \t\n\r\f\v#", text[i-1]) >= 0 {
		i--
	}
	// the first line start at or after i
	for i > 0 && text[i-1] != '\n' {
		if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
			i += j + 1
		} else {
			return -1 // no line start left: no match
		}
	}
	return i
}

// Sentences splits text into trimmed sentences: a sentence ends at '.',
// '!' or '?' followed by white space, or at a blank line. Dots in common
// abbreviations (e.g., i.e., et al., Fig.) do not end one.
func Sentences(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if s := strings.Join(strings.Fields(b.String()), " "); s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '\n' && blankLineAfter(rs[i+1:]) {
			flush()
			continue
		}
		b.WriteRune(r)
		if (r == '.' || r == '!' || r == '?') && (i+1 == len(rs) || isSpace(rs[i+1])) && !abbreviation(b.String()) {
			flush()
		}
	}
	flush()
	return out
}

// blankLineAfter reports whether rest starts with a line of white space.
func blankLineAfter(rest []rune) bool {
	for _, r := range rest {
		switch r {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return false
}

func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' }

var abbreviations = []string{"e.g.", "i.e.", "et al.", "fig.", "cf.", "vs.", "no.", "dr.", "mr.", "ms.", "eq."}

func abbreviation(s string) bool {
	// Only the end of s can match: lower-case its last 8 runes (one more
	// than " et al."), which is the end of ToLower(s), as ToLower maps
	// rune by rune; low == a needs all of s.
	tail := len(s)
	for range 8 {
		if tail == 0 {
			break
		}
		_, n := utf8.DecodeLastRuneInString(s[:tail])
		tail -= n
	}
	whole := tail == 0
	low := strings.ToLower(s[tail:])
	for _, a := range abbreviations {
		if strings.HasSuffix(low, " "+a) || whole && low == a || strings.HasSuffix(low, "("+a) {
			return true
		}
	}
	return false
}
