// Package critic scores an SNO with the three CNS critics (grounding,
// logic, novelty) and combines them into its trust score. Each formula is
// documented next to its implementation. Pure: no I/O; the nearest
// neighbour distance novelty needs is looked up by the caller.
package critic

import (
	"fmt"
	"math"

	"contextworker/modules/ingest/sno"
)

// Critic names, as stored with their results.
const (
	Grounding = "grounding"
	Logic     = "logic"
	Novelty   = "novelty"
)

// Input is what the critics judge: the SNO (hypothesis, graph, evidence)
// and the cosine distance from its hypothesis embedding to the nearest
// admitted SNO of the same tenant.
type Input struct {
	SNO *sno.SNO
	// NearestDistance is in [0,2]; HasNeighbour false means the tenant has
	// no admitted SNO yet, and the distance is taken as 2.
	NearestDistance float64
	HasNeighbour    bool
}

// Score runs the three critics on in and sets the SNO's critic results
// and trust under w.
func Score(in Input, nli NLI, w Weights) error {
	return Prepare(in.SNO, nli).Finish(in, w)
}

// Partial holds the results of the critics that judge an SNO by itself
// (grounding and logic), so that they can be computed before the tenant's
// nearest neighbour is looked up.
type Partial struct {
	grounding, logic sno.CriticResult
}

// Prepare runs the grounding and logic critics on s.
func Prepare(s *sno.SNO, nli NLI) Partial {
	return Partial{grounding: GroundingScore(s, nli), logic: LogicScore(&s.Graph)}
}

// Finish runs the novelty critic on in and sets the SNO's critic results
// (p's and novelty) and trust under w, as Score does.
func (p Partial) Finish(in Input, w Weights) error {
	if err := w.Validate(); err != nil {
		return err
	}
	s := in.SNO
	s.Critics = []sno.CriticResult{p.grounding, p.logic, NoveltyScore(&s.Graph, in.NearestDistance, in.HasNeighbour)}
	s.Trust = Trust(w, s.Critics)
	return nil
}

// LogicScore is the logic critic:
//
//	logic = 0.5·connected + 0.3·max(0, 1 − avg_out_degree/3) + 0.2·(1 − density)
//
// over the graph's V nodes (the root included) and E edges, where
//   - avg_out_degree = E / V;
//   - density = E / (V·(V−1)), the share of possible directed edges used
//     (0 when V < 2);
//   - connected = 1 − orphans / (V − 1) (1 when V = 1), the CNS "orphan"
//     term written as the share of claims that are not orphans.
//
// An orphan is a non-root claim that is not connected to the root by any
// chain of edges followed in either direction: it neither supports nor
// follows from anything that reaches the hypothesis. The original counted
// claims without incoming edges, which makes every claim that points at
// the root (a claim SUPPORTS the hypothesis) an orphan; with this
// definition such a claim is as connected as a claim can be.
func LogicScore(g *sno.Graph) sno.CriticResult {
	v, e := float64(len(g.Nodes)), float64(len(g.Edges))
	reach := g.Connected(sno.RootID)
	orphans := 0
	for _, n := range g.Nodes {
		if n.ID != sno.RootID && !reach[n.ID] {
			orphans++
		}
	}
	connected, avgOut, density := 1.0, 0.0, 0.0
	if v > 1 {
		connected = 1 - float64(orphans)/(v-1)
		density = e / (v * (v - 1))
	}
	if v > 0 {
		avgOut = e / v
	}
	branching := math.Max(0, 1-avgOut/3)
	score := 0.5*connected + 0.3*branching + 0.2*(1-density)
	return sno.CriticResult{
		Critic: Logic, Score: clip(score),
		// Confidence grows with the claims there are to judge: a lone
		// hypothesis scores 1 on structure it does not have.
		Confidence:  math.Min(1, (v-1)/3),
		Explanation: fmt.Sprintf("%d claims, %d orphans, %d edges: average out-degree %.2f, density %.2f", int(v)-1, orphans, int(e), avgOut, density),
		SubScores:   map[string]float64{"connected": connected, "orphans": float64(orphans), "avg_out_degree": avgOut, "branching": branching, "density": density},
	}
}

// NoveltyScore is the novelty critic:
//
//	novelty = clip(0.7·minDist/2 − 0.3·min(1, (E/V)/5), 0, 1)
//
// where minDist is the cosine distance (1 − cos) from the hypothesis
// embedding to the nearest admitted SNO of the tenant, 2 when there is
// none, and E/V the graph's edges per node (0 for an empty graph).
func NoveltyScore(g *sno.Graph, minDist float64, hasNeighbour bool) sno.CriticResult {
	if !hasNeighbour {
		minDist = 2
	}
	ratio := 0.0
	if len(g.Nodes) > 0 {
		ratio = float64(len(g.Edges)) / float64(len(g.Nodes))
	}
	score := clip(0.7*minDist/2 - 0.3*math.Min(1, ratio/5))
	conf, why := 1.0, fmt.Sprintf("cosine distance %.3f to the nearest admitted SNO", minDist)
	if !hasNeighbour {
		conf, why = 0.5, "no admitted SNO of the tenant to compare with (distance taken as 2)"
	}
	return sno.CriticResult{
		Critic: Novelty, Score: score, Confidence: conf, Explanation: why,
		SubScores: map[string]float64{"min_distance": minDist, "edges_per_node": ratio},
	}
}

func clip(x float64) float64 { return math.Min(1, math.Max(0, x)) }
