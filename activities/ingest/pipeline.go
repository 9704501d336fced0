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
	// partial holds the critics done before the novelty lookup, between
	// prepare and finish.
	partial *critic.Partial
}

// process scores docs on every core, then admits or quarantines them in
// one transaction, returning one outcome per doc in order.
func (a *Activities) process(ctx context.Context, sub submission, docs []doc) ([]wf.Outcome, error) {
	out, err := a.prepare(ctx, sub.tenant, docs)
	if err != nil {
		return nil, err
	}
	return a.finish(ctx, sub, out)
}

// prepare does the CPU work that does not depend on the tenant's other
// SNOs (checks, extraction, embeddings, grounding and logic) for docs, on
// every core. A chunk prepares its next sub-batch while it finishes the
// last.
func (a *Activities) prepare(ctx context.Context, tenant string, docs []doc) ([]scored, error) {
	out := make([]scored, len(docs))
	err := parallel(ctx, len(docs), func(i int) (err error) {
		out[i], err = a.prepareOne(ctx, tenant, docs[i])
		return err
	})
	return out, err
}

// finish looks up each prepared document's nearest admitted SNO in the
// tenant's index, brought up to date now, completes its critics and
// trust, and admits or quarantines the documents in one transaction.
func (a *Activities) finish(ctx context.Context, sub submission, out []scored) ([]wf.Outcome, error) {
	idx, err := a.indexes.get(ctx, a.DB, sub.tenant, a.Embedder.Name())
	if err != nil {
		return nil, err
	}
	if err := parallel(ctx, len(out), func(i int) error { return a.finishOne(idx, &out[i]) }); err != nil {
		return nil, err
	}
	return a.admit(ctx, sub, out)
}

// parallel runs f(0..n-1) on every core and joins their errors; it stops
// starting new calls once ctx is done.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// score does the CPU work for one document: size and encoding checks,
// extraction, embeddings and critics. Novelty compares with the tenant's
// admitted SNOs as the index holds them now.
func (a *Activities) score(ctx context.Context, tenant string, idx *embed.Index, d doc) (scored, error) {
	s, err := a.prepareOne(ctx, tenant, d)
	if err == nil {
		err = a.finishOne(idx, &s)
	}
	return s, err
}

// prepareOne is prepare for one document.
func (a *Activities) prepareOne(ctx context.Context, tenant string, d doc) (scored, error) {
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
	if x.Extractor == "" { // an extractor that does not say: the configured one
		x.Extractor = a.Extractor.Name()
	}
	x.ID = s.snoID
	vecs, err := a.Embedder.Embed(ctx, []string{x.Hypothesis, text})
	if err != nil {
		return s, fmt.Errorf("score %s: embed: %w", s.snoID, err)
	}
	x.Embedding, s.docVec = vecs[0], vecs[1]
	p := critic.Prepare(&x, a.NLI)
	s.sno, s.partial = &x, &p
	return s, nil
}

// finishOne completes a prepared document's critics: novelty against the
// index, then trust.
func (a *Activities) finishOne(idx *embed.Index, s *scored) error {
	if s.partial == nil {
		return nil // refused before an SNO could be built
	}
	x := s.sno
	in := critic.Input{SNO: x}
	_, in.NearestDistance, in.HasNeighbour = idx.Nearest(x.Embedding, s.snoID)
	if err := s.partial.Finish(in, a.Weights); err != nil {
		return fmt.Errorf("score %s: %w", s.snoID, err)
	}
	s.partial = nil
	if err := x.Validate(); err != nil {
		return fmt.Errorf("score %s: invalid SNO: %w", s.snoID, err)
	}
	return nil
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
