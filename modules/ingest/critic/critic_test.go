package critic

import (
	"math"
	"testing"

	"contextworker/modules/ingest/sno"
)

const eps = 1e-9

func graph(t *testing.T, claims int, edges ...[2]string) *sno.Graph {
	t.Helper()
	g := &sno.Graph{}
	if err := g.AddNode(sno.Node{ID: sno.RootID, Type: sno.NodeHypothesis, Text: "h"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= claims; i++ {
		if err := g.AddNode(sno.Node{ID: "c" + string(rune('0'+i)), Type: sno.NodeClaim, Text: "c"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range edges {
		if err := g.AddEdge(sno.Edge{From: e[0], To: e[1], Relation: sno.Supports, Strength: 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestLogicScore(t *testing.T) {
	tests := []struct {
		name string
		g    *sno.Graph
		want float64
	}{
		// V=1, E=0: connected 1, branching 1, density 0 → 0.5+0.3+0.2
		{"lone hypothesis", graph(t, 0), 1},
		// V=4, E=2, one orphan (c3): 0.5·(2/3) + 0.3·(1 − 0.5/3) + 0.2·(1 − 2/12) = 1/3 + 0.25 + 1/6
		{"one orphan", graph(t, 3, [2]string{"c1", "h"}, [2]string{"c2", "h"}), 0.75},
		// V=3, E=2, claims pointing at the root are not orphans:
		// 0.5·1 + 0.3·(1 − (2/3)/3) + 0.2·(1 − 2/6) = 0.5 + 0.2333… + 0.1333…
		{"claims point at root", graph(t, 2, [2]string{"c1", "h"}, [2]string{"c2", "h"}), 0.5 + 0.3*(7.0/9) + 0.2*(2.0/3)},
		// V=3, E=3 (c1→h, c2→h, c1→c2): 0.5 + 0.3·(1 − 1/3) + 0.2·(1 − 3/6) = 0.5 + 0.2 + 0.1
		{"chain", graph(t, 2, [2]string{"c1", "h"}, [2]string{"c2", "h"}, [2]string{"c1", "c2"}), 0.8},
		// V=3, E=2 (c1→h, c2→c1): c2 reaches the root through c1, no orphan:
		// 0.5 + 0.3·(1 − (2/3)/3) + 0.2·(1 − 2/6)
		{"indirect", graph(t, 2, [2]string{"c1", "h"}, [2]string{"c2", "c1"}), 0.5 + 0.3*(7.0/9) + 0.2*(2.0/3)},
		// V=3, E=0: two orphans of two: 0 + 0.3 + 0.2
		{"all orphans", graph(t, 2), 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LogicScore(tt.g).Score; math.Abs(got-tt.want) > eps {
				t.Fatalf("logic = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNoveltyScore(t *testing.T) {
	tests := []struct {
		name  string
		g     *sno.Graph
		dist  float64
		has   bool
		want  float64
		wantC float64
	}{
		// no neighbour: minDist 2; E/V = 0 → 0.7
		{"first of tenant", graph(t, 0), 0.3, false, 0.7, 0.5},
		// 0.7·0.5/2 − 0.3·min(1, (2/3)/5) = 0.175 − 0.04
		{"some distance", graph(t, 2, [2]string{"c1", "h"}, [2]string{"c2", "h"}), 0.5, true, 0.135, 1},
		// identical to a neighbour: 0 − 0.3·… clipped at 0
		{"duplicate", graph(t, 1, [2]string{"c1", "h"}), 0, true, 0, 1},
		// far away: 0.7·2/2 − 0 = 0.7
		{"opposite", graph(t, 0), 2, true, 0.7, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NoveltyScore(tt.g, tt.dist, tt.has)
			if math.Abs(r.Score-tt.want) > eps || r.Confidence != tt.wantC {
				t.Fatalf("novelty = %v (confidence %v), want %v (%v)", r.Score, r.Confidence, tt.want, tt.wantC)
			}
		})
	}
}

func TestLexical(t *testing.T) {
	tests := []struct {
		name, premise, hypothesis string
		want                      float64
	}{
		{"all covered", "Cats chase mice daily.", "cats chase mice", 1},
		{"two of three", "Cats chase mice daily.", "Mice fear cats.", 2.0 / 3},
		// "we" (short) and "the", "that" (function words) are not content words
		{"function words ignored", "nothing", "We know that the", 0},
		{"none", "dogs bark", "cats purr", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Lexical{}).Entail(tt.premise, tt.hypothesis); math.Abs(got-tt.want) > eps {
				t.Fatalf("entail = %v, want %v", got, tt.want)
			}
		})
	}
}

// plainNLI hides Lexical's Preparer, so GroundingScore takes the
// pair-by-pair path; both paths must agree.
type plainNLI struct{}

func (plainNLI) Entail(premise, hypothesis string) float64 {
	return Lexical{}.Entail(premise, hypothesis)
}

func TestGroundingScore(t *testing.T) {
	s := &sno.SNO{Hypothesis: "cats chase mice"}
	g := graph(t, 0)
	g.Nodes[0].Text = "cats chase mice"
	if err := g.AddNode(sno.Node{ID: "c1", Type: sno.NodeClaim, Text: "Mice fear cats."}); err != nil {
		t.Fatal(err)
	}
	if err := g.AddNode(sno.Node{ID: "c2", Type: sno.NodeClaim, Text: "Dogs bark loudly."}); err != nil {
		t.Fatal(err)
	}
	s.Graph = *g
	tests := []struct {
		name     string
		evidence []sno.Evidence
		want     float64
	}{
		{"no evidence", nil, 0},
		// h: 1, c1: 2/3, c2: 0 → (1 + 2/3 + 0)/3
		{"one item", []sno.Evidence{sno.NewEvidence("Cats chase mice daily.", "ref:1", 0.6, true)}, 5.0 / 9},
		// c2 {dogs, bark, loudly} is now best entailed by "dogs bark": 2/3
		{"best item per claim", []sno.Evidence{sno.NewEvidence("Cats chase mice daily.", "ref:1", 0.6, true), sno.NewEvidence("dogs bark", "ref:2", 0.6, true)}, (1 + 2.0/3 + 2.0/3) / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Evidence = tt.evidence
			for _, nli := range []NLI{Lexical{}, plainNLI{}} {
				if got := GroundingScore(s, nli).Score; math.Abs(got-tt.want) > eps {
					t.Fatalf("grounding (%T) = %v, want %v", nli, got, tt.want)
				}
			}
		})
	}
}

func TestTrust(t *testing.T) {
	res := []sno.CriticResult{{Critic: Grounding, Score: 0.5}, {Critic: Logic, Score: 0.8}, {Critic: Novelty, Score: 0.2}}
	tests := []struct {
		preset string
		want   float64
	}{
		{"default", 0.4*0.5 + 0.3*0.8 + 0.3*0.2},      // 0.5
		{"exploration", 0.2*0.5 + 0.3*0.8 + 0.5*0.2},  // 0.44
		{"verification", 0.6*0.5 + 0.3*0.8 + 0.1*0.2}, // 0.56
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			w, err := Preset(tt.preset)
			if err != nil {
				t.Fatal(err)
			}
			if got := Trust(w, res); math.Abs(got-tt.want) > eps {
				t.Fatalf("trust = %v, want %v", got, tt.want)
			}
		})
	}
	// weights need not sum to 1: the mean divides by their sum
	if got := Trust(Weights{2, 0, 2}, res); math.Abs(got-0.35) > eps {
		t.Fatalf("unnormalised weights: %v, want 0.35", got)
	}
	if _, err := Preset("nope"); err == nil {
		t.Fatal("unknown preset accepted")
	}
	if err := (Weights{-1, 1, 1}).Validate(); err == nil {
		t.Fatal("negative weight accepted")
	}
}
