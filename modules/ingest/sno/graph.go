package sno

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Relation is the kind of an edge between two claims.
type Relation string

// The relations of the reasoning graph.
const (
	Supports    Relation = "SUPPORTS"
	Contradicts Relation = "CONTRADICTS"
	Implies     Relation = "IMPLIES"
	Weakens     Relation = "WEAKENS"
	Explains    Relation = "EXPLAINS"
	Generalizes Relation = "GENERALIZES"
)

// Relations lists every valid relation.
var Relations = []Relation{Supports, Contradicts, Implies, Weakens, Explains, Generalizes}

// Valid reports whether r is one of Relations.
func (r Relation) Valid() bool { return slices.Contains(Relations, r) }

// Node types.
const (
	// NodeHypothesis is the root: the SNO's hypothesis.
	NodeHypothesis = "hypothesis"
	// NodeClaim is a claim found in the document.
	NodeClaim = "claim"
)

// RootID is the id of the hypothesis node.
const RootID = "h"

// Node is one claim of the reasoning graph.
type Node struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Text string `json:"text"`
}

// Edge says From relates to To (e.g. From SUPPORTS To) with a strength in
// [0,1].
type Edge struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Relation Relation `json:"relation"`
	Strength float64  `json:"strength"`
}

// Graph is the reasoning graph: a DAG of claims rooted at the hypothesis.
// Add nodes and edges through AddNode and AddEdge, which keep it acyclic.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// ErrCycle is wrapped by the error of an edge that would close a cycle.
var ErrCycle = errors.New("edge would close a cycle")

// Node returns the node with id.
func (g *Graph) Node(id string) (Node, bool) {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// AddNode adds a node; ids are unique and non-empty.
func (g *Graph) AddNode(n Node) error {
	if n.ID == "" {
		return errors.New("add node: empty id")
	}
	if _, ok := g.Node(n.ID); ok {
		return fmt.Errorf("add node: duplicate id %q", n.ID)
	}
	g.Nodes = append(g.Nodes, n)
	return nil
}

// AddEdge adds e after checking it: both ends exist, the relation is
// known, the strength is in [0,1], and the edge closes no cycle. The cycle
// error names the cycle, e.g. "c1 -> c2 -> c1".
func (g *Graph) AddEdge(e Edge) error {
	if err := g.checkEdge(e); err != nil {
		return fmt.Errorf("add edge %s -> %s: %w", e.From, e.To, err)
	}
	if path := g.path(e.To, e.From); path != nil {
		return fmt.Errorf("add edge %s -> %s: %w: %s", e.From, e.To, ErrCycle, strings.Join(append([]string{e.From}, path...), " -> "))
	}
	g.Edges = append(g.Edges, e)
	return nil
}

func (g *Graph) checkEdge(e Edge) error {
	var errs []error
	for _, id := range []string{e.From, e.To} {
		if _, ok := g.Node(id); !ok {
			errs = append(errs, fmt.Errorf("unknown node %q", id))
		}
	}
	if !e.Relation.Valid() {
		errs = append(errs, fmt.Errorf("unknown relation %q", e.Relation))
	}
	if !unit(e.Strength) {
		errs = append(errs, fmt.Errorf("strength %v outside [0,1]", e.Strength))
	}
	return errors.Join(errs...)
}

// path returns the node ids of a directed path from -> ... -> to, or nil.
// A self-loop (from == to) is the path [from].
func (g *Graph) path(from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == to {
			var p []string
			for x := to; x != ""; x = prev[x] {
				p = append(p, x)
			}
			slices.Reverse(p)
			return p
		}
		for _, e := range g.Edges {
			if _, seen := prev[e.To]; e.From == n && !seen {
				prev[e.To] = n
				queue = append(queue, e.To)
			}
		}
	}
	return nil
}

// Validate rebuilds the graph edge by edge, so a decoded graph that breaks
// an invariant (unknown node, cycle) is refused with the same errors.
func (g *Graph) Validate() error {
	var b Graph
	for _, n := range g.Nodes {
		if err := b.AddNode(n); err != nil {
			return err
		}
	}
	if len(g.Nodes) > 0 {
		if r, ok := b.Node(RootID); !ok || r.Type != NodeHypothesis {
			return fmt.Errorf("no %s node with id %q", NodeHypothesis, RootID)
		}
	}
	for _, e := range g.Edges {
		if err := b.AddEdge(e); err != nil {
			return err
		}
	}
	return nil
}

// OutDegree returns the number of edges leaving each node.
func (g *Graph) OutDegree(id string) int {
	n := 0
	for _, e := range g.Edges {
		if e.From == id {
			n++
		}
	}
	return n
}

// Connected returns the ids of the nodes weakly connected to id (edges
// followed in both directions), id included.
func (g *Graph) Connected(id string) map[string]bool {
	seen := map[string]bool{id: true}
	for changed := true; changed; {
		changed = false
		for _, e := range g.Edges {
			if seen[e.From] != seen[e.To] {
				seen[e.From], seen[e.To] = true, true
				changed = true
			}
		}
	}
	return seen
}
