package extract

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"contextworker/modules/ingest/sno"
)

func TestSentences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "One. Two! Three?", []string{"One.", "Two!", "Three?"}},
		{"abbreviation", "See e.g. the data. Smith et al. agree.", []string{"See e.g. the data.", "Smith et al. agree."}},
		{"blank line", "A heading\n\nBody text here.", []string{"A heading", "Body text here."}},
		{"dots inside", "Version 1.2 of doi:10.1000/x.y works.", []string{"Version 1.2 of doi:10.1000/x.y works."}},
		{"white space folded", "  a\n b\tc.  ", []string{"a b c."}},
		{"empty", " \n\n ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sentences(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Sentences = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCitations(t *testing.T) {
	refs := "\n[1] A. Author. A paper. 2020.\n2. B. Smith, Another, 2023.\n"
	tests := []struct {
		name     string
		sentence string
		want     []Citation
	}{
		{"numbered, resolved and not", "As [1, 2] and [7] show.", []Citation{{"ref:1", true, 0.6}, {"ref:2", true, 0.6}, {"ref:7", false, 0.2}}},
		{"range", "Known [1-2].", []Citation{{"ref:1", true, 0.6}, {"ref:2", true, 0.6}}},
		{"author year", "Shown before (Smith et al., 2023) and (Nobody 2019).", []Citation{{"cite:smith-2023", true, 0.7}, {"cite:nobody-2019", false, 0.2}}},
		{"doi", "See doi:10.1000/182 and doi:fake-ref.", []Citation{{"doi:10.1000/182", true, 0.9}, {"doi:fake-ref", false, 0.2}}},
		{"doi url is a doi", "At https://doi.org/10.5555/12345678.", []Citation{{"doi:10.5555/12345678", true, 0.9}}},
		{"urls", "From https://www.nature.com/articles/x, http://localhost/a and http://10.0.0.1/b.", []Citation{
			{"url:https://www.nature.com/articles/x", true, 0.8}, {"url:http://localhost/a", false, 0.2}, {"url:http://10.0.0.1/b", false, 0.2}}},
		{"none", "Nothing cited here.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Citations(tt.sentence, refs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Citations = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCitationsBounded(t *testing.T) {
	s := strings.Repeat("[1] ", 10000) + strings.Repeat("[1-100000] ", 100)
	if got := Citations(s, "[1] x"); len(got) > maxCitationsPerSentence {
		t.Fatalf("%d citations from one sentence", len(got))
	}
}

const doc = `Graph critics for knowledge bases

We propose that trust scores reduce poisoning [1]. Poisoned records are rare because curators check them (Smith 2023).
Therefore the base stays clean. This sentence is only filler text for the reader. However, curators miss subtle fallacies.

References
[1] A. Author. Trust in graphs. 2020. doi:10.1000/182
B. Smith. Curation. 2023.
`

func TestRules(t *testing.T) {
	got, err := Rules{}.Extract(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := "We propose that trust scores reduce poisoning [1]."; got.Hypothesis != want {
		t.Fatalf("hypothesis %q, want %q", got.Hypothesis, want)
	}
	wantNodes := []sno.Node{
		{ID: "h", Type: "hypothesis", Text: "We propose that trust scores reduce poisoning [1]."},
		{ID: "c1", Type: "claim", Text: "Poisoned records are rare because curators check them (Smith 2023)."},
		{ID: "c2", Type: "claim", Text: "Therefore the base stays clean."},
		{ID: "c3", Type: "claim", Text: "However, curators miss subtle fallacies."},
	}
	if !reflect.DeepEqual(got.Graph.Nodes, wantNodes) {
		t.Fatalf("nodes %+v", got.Graph.Nodes)
	}
	wantEdges := []sno.Edge{
		{From: "c1", To: "h", Relation: sno.Supports, Strength: 0.6},
		{From: "c2", To: "h", Relation: sno.Implies, Strength: 0.7},
		{From: "c1", To: "c2", Relation: sno.Implies, Strength: 0.7},
		{From: "c3", To: "h", Relation: sno.Weakens, Strength: 0.5},
	}
	if !reflect.DeepEqual(got.Graph.Edges, wantEdges) {
		t.Fatalf("edges %+v", got.Graph.Edges)
	}
	var ids []string
	for _, e := range got.Evidence {
		ids = append(ids, e.SourceID)
		if !e.Resolved {
			t.Errorf("%s not resolved", e.SourceID)
		}
	}
	if want := []string{"ref:1", "cite:smith-2023"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("evidence %v, want %v", ids, want)
	}
	if err := got.Validate(); err == nil || !strings.Contains(err.Error(), "id: empty") {
		t.Fatalf("Validate = %v: only the id (set by the caller) should be missing", err)
	}
}

func TestRulesHypothesisFallbacks(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"first long sentence", "Short one. This sentence is clearly longer than thirty characters. Another long sentence follows here.", "This sentence is clearly longer than thirty characters."},
		{"first sentence", "Tiny. Small.", "Tiny."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rules{}.Extract(context.Background(), tt.text)
			if err != nil || got.Hypothesis != tt.want {
				t.Fatalf("hypothesis %q (%v), want %q", got.Hypothesis, err, tt.want)
			}
		})
	}
	if _, err := (Rules{}).Extract(context.Background(), " \n "); !errors.Is(err, ErrNoHypothesis) {
		t.Fatalf("empty text: %v", err)
	}
}

func TestRulesMaxClaims(t *testing.T) {
	text := "We show x. " + strings.Repeat("It holds because y. ", 50)
	got, err := Rules{MaxClaims: 5}.Extract(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Graph.Nodes) - 1; n != 5 {
		t.Fatalf("%d claims, want 5", n)
	}
}

func TestRelation(t *testing.T) {
	tests := []struct {
		sent string
		want sno.Relation
		ok   bool
	}{
		{"It rains because clouds form.", sno.Supports, true},
		{"BECAUSE of that.", sno.Supports, true},
		{"Therefore it holds.", sno.Implies, true},
		{"As a result, prices rose.", sno.Implies, true},
		{"However, thus it is.", sno.Weakens, true}, // contrast wins
		{"The becausey word and sincerely meant.", "", false},
		{"Thusly not a marker.", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.sent, func(t *testing.T) {
			if got, ok := relation(tt.sent); got != tt.want || ok != tt.ok {
				t.Fatalf("relation = %q %v, want %q %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
