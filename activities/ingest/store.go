package ingest

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"contextworker/modules/ingest/admission"
	"contextworker/modules/ingest/embed"
	wf "contextworker/workflows/ingest"
)

// sourceState is what admission knows about a source within one
// transaction: its documents in the rate window, and the embeddings of its
// recent documents for the flood detector. It grows as the transaction
// admits documents, so documents of one call see each other.
type sourceState struct {
	inRateWindow int
	recent       [][]float32
}

// admit records docs in one transaction: each source is locked first
// (advisory, in sorted order) so the rate limit and the flood detector
// count exactly across concurrent activities and workers. A document this
// workflow already submitted (a retry) returns its recorded outcome; a
// text that is already an SNO of the tenant is a duplicate and changes
// nothing but its provenance.
//
// Round trips per call, whatever the number of documents: one pipeline
// that takes the locks and reads the sources' counts, earlier submissions
// and known SNOs, then one COPY per table written, and the commit.
func (a *Activities) admit(ctx context.Context, sub submission, docs []scored) ([]wf.Outcome, error) {
	outs := make([]wf.Outcome, len(docs))
	var fresh []wf.Outcome // outcomes decided now, not a retry's recorded ones
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		fresh = fresh[:0]
		sources, items, ids := []string{}, []string{}, []string{}
		for _, d := range docs {
			sources, items, ids = append(sources, d.source), append(items, d.item), append(ids, d.snoID)
		}
		slices.Sort(sources)
		sources = slices.Compact(sources)
		st, err := a.readState(ctx, tx, sub, sources, items, ids)
		if err != nil {
			return err
		}
		w := newRowWriter(sub, a.Embedder.Name())
		for i, d := range docs {
			if p, ok := st.prior[d.item]; ok {
				o := st.known[p.SNOID]
				o.Status, o.Reasons = p.Status, p.Reasons
				outs[i] = o
				continue
			}
			src := st.sources[d.source]
			if o, ok := st.known[d.snoID]; ok {
				outs[i] = wf.Outcome{SNOID: d.snoID, Status: wf.StatusDuplicate, Scores: o.Scores}
			} else {
				outs[i] = a.decide(d, src)
				w.sno(d, outs[i])
				st.known[d.snoID] = outs[i]
			}
			fresh = append(fresh, outs[i])
			w.provenance(d, outs[i])
			src.inRateWindow++
			if d.docVec != nil {
				src.recent = append(src.recent, d.docVec)
			}
		}
		return w.write(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("admit: %w", err)
	}
	for _, d := range docs {
		if d.docVec != nil {
			a.recentVecs.put(docKey(sub.tenant, sub.workflowID, d.item), d.docVec)
		}
	}
	a.Metrics.decided(fresh)
	return outs, nil
}

// decide applies the admission rules to a scored document.
func (a *Activities) decide(d scored, st *sourceState) wf.Outcome {
	c := a.Config.Admission
	reasons := slices.Clone(d.reasons)
	if d.sno != nil {
		near := 0
		for _, v := range st.recent {
			// Recent documents are read by embedder; the length check
			// keeps a stray vector of another from panicking Dot.
			if len(v) == len(d.docVec) && embed.Dot(v, d.docVec) >= c.FloodSimilarity {
				near++
			}
		}
		reasons = append(reasons, admission.Decide(c, admission.Facts{
			Trust: d.sno.Trust, FromSourceInWindow: st.inRateWindow, NearDuplicates: near, Evidence: d.sno.Evidence,
		})...)
	}
	o := wf.Outcome{SNOID: d.snoID, Status: wf.StatusAdmitted, Scores: scoresOf(d.sno), Reasons: reasonStrings(reasons)}
	if len(reasons) > 0 {
		o.Status = wf.StatusQuarantined
	}
	return o
}

type prior struct {
	SNOID   string
	Status  string
	Reasons []string
}

// knownSQL selects the outcomes of the SNOs of a tenant ($1) among ids
// ($2).
const knownSQL = `SELECT s.sno_id, s.status, s.trust, s.reasons,
		coalesce(max(c.score) FILTER (WHERE c.critic = 'grounding'), 0),
		coalesce(max(c.score) FILTER (WHERE c.critic = 'logic'), 0),
		coalesce(max(c.score) FILTER (WHERE c.critic = 'novelty'), 0)
	FROM ingest_snos s LEFT JOIN ingest_critic_results c ON c.tenant_id = s.tenant_id AND c.sno_id = s.sno_id
	WHERE s.tenant_id = $1 AND s.sno_id = ANY($2)
	GROUP BY s.sno_id, s.status, s.trust, s.reasons`

// knownSNOs returns the outcomes of the SNOs of tenant among ids.
func knownSNOs(ctx context.Context, tx querier, tenant string, ids []string) (map[string]wf.Outcome, error) {
	rows, err := tx.Query(ctx, knownSQL, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("read known SNOs: %w", err)
	}
	return collectKnown(rows)
}

func collectKnown(rows pgx.Rows) (map[string]wf.Outcome, error) {
	out := map[string]wf.Outcome{}
	var o wf.Outcome
	_, err := pgx.ForEachRow(rows, []any{&o.SNOID, &o.Status, &o.Scores.Trust, &o.Reasons, &o.Scores.Grounding, &o.Scores.Logic, &o.Scores.Novelty}, func() error {
		c := o
		c.Reasons = slices.Clone(o.Reasons)
		out[o.SNOID] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read known SNOs: %w", err)
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
