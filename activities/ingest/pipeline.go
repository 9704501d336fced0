package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"contextworker/modules/ingest/admission"
	"contextworker/modules/ingest/critic"
	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/extract"
	"contextworker/modules/ingest/sno"
	wf "contextworker/workflows/ingest"
)

// Reason codes beyond the admission package's: documents that could not
// be read at all.
const (
	// ReasonUnreadable: the file or URL could not be read (permanently).
	ReasonUnreadable admission.Reason = "unreadable"
	// ReasonUnparseable: a JSONL line that is not a JSON object with a
	// text string.
	ReasonUnparseable admission.Reason = "unparseable"
)

// doc is one document to ingest.
type doc struct {
	// item is the document's place in its workflow: "" for a single
	// ingest, else a file name, URL or JSONL line.
	item     string
	source   string
	metadata map[string]string
	body     []byte
	// failure, when set, says why the document could not be read; body is
	// then whatever was read (maybe nothing).
	failure  string
	failCode admission.Reason
	// keepText stores the text in ingest_texts (single documents, whose
	// only other copy is history).
	keepText bool
}

// submission is who submitted documents, through which workflow.
type submission struct {
	tenant, workflowID, runID, submitter string
}

// scored is a document after the CPU work: its SNO (nil when refused
// before one could be built), the text embedding and what failed.
type scored struct {
	doc
	snoID, sha string
	sno        *sno.SNO
	docVec     []float32
	reasons    []admission.Reason
	details    map[string]string
}

// process scores docs on every core, then admits or quarantines them in
// one transaction, returning one outcome per doc in order.
func (a *Activities) process(ctx context.Context, sub submission, docs []doc) ([]wf.Outcome, error) {
	idx, err := a.indexes.get(ctx, a.DB, sub.tenant, a.Embedder.Name())
	if err != nil {
		return nil, err
	}
	out := make([]scored, len(docs))
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range docs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = a.score(ctx, sub.tenant, idx, docs[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a.admit(ctx, sub, out)
}

// score does the CPU work for one document: size and encoding checks,
// extraction, embeddings and critics. Novelty compares with the tenant's
// admitted SNOs as the index holds them now.
func (a *Activities) score(ctx context.Context, tenant string, idx *embed.Index, d doc) (scored, error) {
	sum := sha256.Sum256(d.body)
	s := scored{doc: d, sha: hex.EncodeToString(sum[:]), snoID: sno.ID(tenant, d.body)}
	if d.failure != "" {
		s.reasons = []admission.Reason{d.failCode}
		if d.failCode == "" {
			s.reasons[0] = ReasonUnreadable
		}
		s.details = map[string]string{"error": d.failure}
		return s, nil
	}
	if s.reasons = admission.CheckText(d.body, a.Config.Admission); len(s.reasons) > 0 {
		return s, nil
	}
	text := string(d.body)
	x, err := a.Extractor.Extract(ctx, text)
	if errors.Is(err, extract.ErrNoHypothesis) {
		s.reasons = []admission.Reason{admission.NoHypothesis}
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("score %s: %w", s.snoID, err)
	}
	x.ID = s.snoID
	vecs, err := a.Embedder.Embed(ctx, []string{x.Hypothesis, text})
	if err != nil {
		return s, fmt.Errorf("score %s: embed: %w", s.snoID, err)
	}
	x.Embedding, s.docVec = vecs[0], vecs[1]
	in := critic.Input{SNO: &x}
	_, in.NearestDistance, in.HasNeighbour = idx.Nearest(x.Embedding, s.snoID)
	if err := critic.Score(in, a.NLI, a.Weights); err != nil {
		return s, fmt.Errorf("score %s: %w", s.snoID, err)
	}
	if err := x.Validate(); err != nil {
		return s, fmt.Errorf("score %s: invalid SNO: %w", s.snoID, err)
	}
	s.sno = &x
	return s, nil
}

func scoresOf(x *sno.SNO) wf.Scores {
	if x == nil {
		return wf.Scores{}
	}
	sc := wf.Scores{Trust: x.Trust}
	for _, c := range x.Critics {
		switch c.Critic {
		case critic.Grounding:
			sc.Grounding = c.Score
		case critic.Logic:
			sc.Logic = c.Score
		case critic.Novelty:
			sc.Novelty = c.Score
		}
	}
	return sc
}

func reasonStrings(rs []admission.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
