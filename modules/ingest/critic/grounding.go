package critic

import (
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"

	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/sno"
)

// NLI estimates how far premise entails hypothesis, in [0,1]. Natural
// language inference is pluggable; Lexical is the offline default.
type NLI interface {
	Entail(premise, hypothesis string) float64
}

// Lexical is a lexical-overlap proxy for entailment, not inference: the
// share of the hypothesis's content words (lower-cased words of three or
// more letters, without common function words) that also occur in the
// premise. 0 when the hypothesis has no content word. It rewards
// evidence that repeats a claim's words, whatever it says about them.
type Lexical struct{}

// Entail implements NLI.
func (Lexical) Entail(premise, hypothesis string) float64 {
	return overlap(contentWords(hypothesis), contentWords(premise))
}

// Prepare implements Preparer: the premises' content words are computed
// once, not once per claim, numbered, and kept as bit sets, so that a
// claim's overlap with a premise is a population count. It returns what
// Entail returns, to the bit (the same counts, divided the same way).
func (Lexical) Prepare(premises []string) func(hypothesis string) float64 {
	ids := map[string]int{}
	var sets [][]uint64
	var sizes []int           // distinct content words of each premise
	index := map[string]int{} // premise text → its set
	for _, p := range premises {
		if _, ok := index[p]; ok {
			continue
		}
		index[p] = len(sets)
		var set []uint64
		size := 0
		forContentWords(p, func(w string) {
			id, ok := ids[w]
			if !ok {
				id = len(ids)
				ids[w] = id
			}
			for len(set) <= id/64 {
				set = append(set, 0)
			}
			if set[id/64]&(1<<(id%64)) == 0 {
				set[id/64] |= 1 << (id % 64)
				size++
			}
		})
		sets, sizes = append(sets, set), append(sizes, size)
	}
	h := make([]uint64, (len(ids)+63)/64)
	hSeen := map[string]bool{}
	return func(hypothesis string) float64 {
		clear(h)
		size := 0
		if k, ok := index[hypothesis]; ok {
			// a claim that is also a premise (a sentence citing its
			// source): its words are that premise's
			copy(h, sets[k])
			size = sizes[k]
		} else {
			clear(hSeen)
			forContentWords(hypothesis, func(w string) {
				hSeen[w] = true
				if id, ok := ids[w]; ok {
					h[id/64] |= 1 << (id % 64)
				}
			})
			size = len(hSeen)
		}
		if size == 0 {
			return 0
		}
		best := 0.0
		for _, p := range sets {
			n := 0
			for i, x := range p {
				n += bits.OnesCount64(x & h[i])
			}
			best = max(best, float64(n)/float64(size))
		}
		return best
	}
}

// Preparer is an NLI that scores many hypotheses against one set of
// premises faster when it sees the premises first. best returns the
// highest entailment of hypothesis by any premise.
type Preparer interface {
	Prepare(premises []string) (best func(hypothesis string) float64)
}

func overlap(h, p map[string]bool) float64 {
	if len(h) == 0 {
		return 0
	}
	n := 0
	for w := range h {
		if p[w] {
			n++
		}
	}
	return float64(n) / float64(len(h))
}

var stopwords = map[string]bool{}

func init() {
	for _, w := range []string{"the", "and", "for", "that", "this", "with", "are", "was", "were", "from", "have", "has",
		"had", "its", "not", "but", "our", "their", "which", "into", "been", "also", "than", "then", "there", "these",
		"those", "they", "them", "will", "would", "can", "could", "may", "might", "should", "all", "any", "some", "such",
		"more", "most", "other", "only", "own", "same", "too", "very", "just", "because", "therefore", "thus", "hence",
		"however", "since", "what", "when", "where", "who", "whom", "why", "how", "each", "both", "does", "did", "doing"} {
		stopwords[w] = true
	}
}

func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	forContentWords(s, func(w string) { out[w] = true })
	return out
}

// forContentWords calls f with each content word of s, in order, repeats
// included.
func forContentWords(s string, f func(string)) {
	for _, w := range embed.Words(s) {
		if utf8.RuneCountInString(w) >= 3 && !stopwords[w] {
			f(w)
		}
	}
}

// GroundingScore is the grounding critic:
//
//	grounding = (1/|C|) · Σ_{c ∈ C} max_{e ∈ evidence} entail(e.content, c.text)
//
// over the claims C of the graph with the root (the hypothesis) included;
// a claim with no evidence item scores 0, and so does an SNO without
// claims. entail is nli (by default the Lexical proxy).
func GroundingScore(s *sno.SNO, nli NLI) sno.CriticResult {
	bestOf := func(claim string) float64 {
		best := 0.0
		for _, e := range s.Evidence {
			best = math.Max(best, nli.Entail(e.Content, claim))
		}
		return best
	}
	if p, ok := nli.(Preparer); ok && len(s.Evidence) > 0 {
		premises := make([]string, len(s.Evidence))
		for i, e := range s.Evidence {
			premises[i] = e.Content
		}
		bestOf = p.Prepare(premises)
	}
	sum, grounded := 0.0, 0
	for _, c := range s.Graph.Nodes {
		best := bestOf(c.Text)
		sum += best
		if best >= 0.5 {
			grounded++
		}
	}
	score, n := 0.0, len(s.Graph.Nodes)
	if n > 0 {
		score = sum / float64(n)
	}
	return sno.CriticResult{
		Critic: Grounding, Score: clip(score),
		// Confidence grows with the evidence there is: three items or more
		// give full confidence.
		Confidence:  math.Min(1, float64(len(s.Evidence))/3),
		Explanation: fmt.Sprintf("%d of %d claims at least half entailed by one of %d evidence items (lexical-overlap proxy, not inference)", grounded, n, len(s.Evidence)),
		SubScores:   map[string]float64{"claims": float64(n), "evidence": float64(len(s.Evidence)), "grounded_claims": float64(grounded)},
	}
}
