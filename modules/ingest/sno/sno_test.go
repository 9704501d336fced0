package sno

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func sample(t *testing.T) SNO {
	t.Helper()
	s := SNO{ID: ID("acme", []byte("doc")), SchemaVersion: SchemaVersion, Hypothesis: "We show that x holds.",
		Embedding: []float32{0.1, -0.25, float32(1) / 3, math.SmallestNonzeroFloat32, 0}}
	for _, n := range []Node{{RootID, NodeHypothesis, "We show that x holds."}, {"c1", NodeClaim, "x because y"}, {"c2", NodeClaim, "y hence z"}} {
		if err := s.Graph.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []Edge{{"c1", RootID, Supports, 0.7}, {"c2", "c1", Implies, 1.0 / 3}} {
		if err := s.Graph.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	s.AddEvidence(NewEvidence("as shown in [1]", "ref:1", 0.6, true))
	s.AddEvidence(NewEvidence("see doi:10.1000/x", "doi:10.1000/x", 0.9, true))
	s.Trust = 0.123456789012345
	s.Critics = []CriticResult{{Critic: "logic", Score: 0.8, Confidence: 1, Explanation: "e", SubScores: map[string]float64{"density": 1.0 / 6}}}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := sample(t)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got SNO
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip changed the SNO:\n got %+v\nwant %+v", got, s)
	}
	b2, _ := json.Marshal(got)
	if string(b2) != string(b) {
		t.Fatalf("second encoding differs:\n%s\n%s", b, b2)
	}
}

func TestAddEdgeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		edge    Edge
		wantErr string
		cycle   bool
	}{
		{"two-node cycle", Edge{"c1", "c2", Supports, 0.5}, "c1 -> c2 -> c1", true},
		{"three-node cycle", Edge{RootID, "c2", Explains, 0.5}, "h -> c2 -> c1 -> h", true},
		{"self loop", Edge{"c1", "c1", Supports, 0.5}, "c1 -> c1", true},
		{"unknown node", Edge{"c1", "c9", Supports, 0.5}, `unknown node "c9"`, false},
		{"bad relation", Edge{"c2", RootID, "LIKES", 0.5}, `unknown relation "LIKES"`, false},
		{"bad strength", Edge{"c2", RootID, Supports, 1.5}, "strength 1.5 outside [0,1]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample(t)
			n := len(s.Graph.Edges)
			err := s.Graph.AddEdge(tt.edge)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrCycle) != tt.cycle {
				t.Fatalf("errors.Is(err, ErrCycle) = %v, want %v", !tt.cycle, tt.cycle)
			}
			if len(s.Graph.Edges) != n {
				t.Fatal("a refused edge was added")
			}
		})
	}
}

func TestValidateRefusesDecodedCycle(t *testing.T) {
	s := sample(t)
	s.Graph.Edges = append(s.Graph.Edges, Edge{RootID, "c2", Supports, 1})
	b, _ := json.Marshal(s)
	var got SNO
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); !errors.Is(err, ErrCycle) {
		t.Fatalf("Validate = %v, want a cycle error", err)
	}
}

func TestEvidenceIdentity(t *testing.T) {
	s := sample(t)
	if s.AddEvidence(NewEvidence("as shown in [1]", "ref:1", 0.1, false)) {
		t.Fatal("the same source and content added twice")
	}
	if !s.AddEvidence(NewEvidence("as shown in [1]", "ref:2", 0.6, true)) {
		t.Fatal("another source refused")
	}
	if got := len(s.Evidence[0].DocHash); got != HashLen {
		t.Fatalf("doc_hash length %d", got)
	}
}
