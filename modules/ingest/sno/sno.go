// Package sno is the Structured Narrative Object (SNO) of the ingest module:
// a hypothesis, a reasoning graph of claims, an evidence set, an embedding
// and the critics' scores, with a lossless JSON form. It is pure data and
// rules: it must never import Temporal, touch a database or do I/O.
package sno

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// SchemaVersion is the version of the SNO layout written by this code.
// Bump it when a field changes meaning; readers keep decoding old ones.
const SchemaVersion = 1

// SNO is one document's knowledge record.
type SNO struct {
	// ID is the SNO's identity: a prefix of the sha256 of the tenant and
	// the document text (see ID), so the same document is one SNO.
	ID            string `json:"id"`
	SchemaVersion int    `json:"schema_version"`
	Hypothesis    string `json:"hypothesis"`
	// Embedding is the hypothesis embedding (L2-normalised).
	Embedding []float32  `json:"embedding,omitempty"`
	Graph     Graph      `json:"graph"`
	Evidence  []Evidence `json:"evidence"`
	// Trust is the weighted mean of the critics' scores.
	Trust   float64        `json:"trust"`
	Critics []CriticResult `json:"critics"`
	// Extractor names the extractor that built the SNO (its Name: the
	// rules and their version, or the LLM's model), so that an SNO a
	// fallback built is told from one the configured extractor built. It
	// is provenance, stored beside the SNO (ingest_snos.extractor), not
	// part of the record.
	Extractor string `json:"-"`
}

// CriticResult is one critic's verdict on an SNO.
type CriticResult struct {
	Critic      string  `json:"critic"`
	Score       float64 `json:"score"`
	Confidence  float64 `json:"confidence"`
	Explanation string  `json:"explanation"`
	// SubScores are the terms the score was computed from, by name.
	SubScores map[string]float64 `json:"sub_scores,omitempty"`
}

// Critic returns the result of the named critic.
func (s *SNO) Critic(name string) (CriticResult, bool) {
	for _, c := range s.Critics {
		if c.Critic == name {
			return c, true
		}
	}
	return CriticResult{}, false
}

// Evidence is one item of the evidence set. DocHash is its identity.
type Evidence struct {
	Content    string  `json:"content"`
	SourceID   string  `json:"source_id"`
	Confidence float64 `json:"confidence"`
	DocHash    string  `json:"doc_hash"`
	// Resolved says whether the citation points at something resolvable
	// (a reference entry, a well-formed DOI or URL); see extract.
	Resolved bool `json:"resolved"`
}

// HashLen is the length in hex characters of ids and evidence hashes.
const HashLen = 16

// NewEvidence returns an evidence item with its DocHash: the sha256 prefix
// of its source id and content, so the same citation of the same text is
// one item however often it is extracted.
func NewEvidence(content, sourceID string, confidence float64, resolved bool) Evidence {
	return Evidence{Content: content, SourceID: sourceID, Confidence: confidence, Resolved: resolved,
		DocHash: hashHex(sourceID + "\x00" + content)}
}

// ID returns the SNO id of a document of tenant: the first HashLen hex
// characters of sha256(tenant NUL text).
func ID(tenant string, text []byte) string {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write(text)
	return hex.EncodeToString(h.Sum(nil))[:HashLen]
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:HashLen]
}

// AddEvidence adds e unless an item with the same DocHash is present, and
// reports whether it was added.
func (s *SNO) AddEvidence(e Evidence) bool {
	for _, x := range s.Evidence {
		if x.DocHash == e.DocHash {
			return false
		}
	}
	s.Evidence = append(s.Evidence, e)
	return true
}

// Validate checks the SNO's invariants: a hypothesis, a valid graph whose
// root holds the hypothesis, evidence with hashes and scores in [0,1].
func (s *SNO) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errors.New("id: empty"))
	}
	if s.Hypothesis == "" {
		errs = append(errs, errors.New("hypothesis: empty"))
	}
	if err := s.Graph.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("graph: %w", err))
	}
	seen := map[string]bool{}
	for i, e := range s.Evidence {
		if e.DocHash == "" || seen[e.DocHash] {
			errs = append(errs, fmt.Errorf("evidence[%d]: doc_hash %q empty or repeated", i, e.DocHash))
		}
		seen[e.DocHash] = true
		if !unit(e.Confidence) {
			errs = append(errs, fmt.Errorf("evidence[%d]: confidence %v outside [0,1]", i, e.Confidence))
		}
	}
	if !unit(s.Trust) {
		errs = append(errs, fmt.Errorf("trust: %v outside [0,1]", s.Trust))
	}
	return errors.Join(errs...)
}

func unit(x float64) bool { return x >= 0 && x <= 1 }
