package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"contextworker/modules/ingest/admission"
	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/sno"
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
func (a *Activities) admit(ctx context.Context, sub submission, docs []scored) ([]wf.Outcome, error) {
	outs := make([]wf.Outcome, len(docs))
	var fresh []wf.Outcome // outcomes decided now, not a retry's recorded ones
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		sources, items, ids := []string{}, []string{}, []string{}
		for _, d := range docs {
			sources, items, ids = append(sources, d.source), append(items, d.item), append(ids, d.snoID)
		}
		slices.Sort(sources)
		sources = slices.Compact(sources)
		state, err := a.lockSources(ctx, tx, sub.tenant, sources)
		if err != nil {
			return err
		}
		prior, err := priorSubmissions(ctx, tx, sub, items)
		if err != nil {
			return err
		}
		known, err := knownSNOs(ctx, tx, sub.tenant, ids)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, d := range docs {
			if p, ok := prior[d.item]; ok {
				o := known[p.SNOID]
				o.Status, o.Reasons = p.Status, p.Reasons
				outs[i] = o
				continue
			}
			st := state[d.source]
			if o, ok := known[d.snoID]; ok {
				outs[i] = wf.Outcome{SNOID: d.snoID, Status: wf.StatusDuplicate, Scores: o.Scores}
			} else {
				outs[i] = a.decide(d, st)
				a.queueSNO(b, sub, d, outs[i])
				known[d.snoID] = outs[i]
			}
			fresh = append(fresh, outs[i])
			queueProvenance(b, sub, d, outs[i])
			st.inRateWindow++
			if d.docVec != nil {
				st.recent = append(st.recent, d.docVec)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("admit: %w", err)
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
			if embed.Dot(v, d.docVec) >= c.FloodSimilarity {
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

// lockSources takes the sources' advisory locks for the transaction, in
// the order of their lock keys (so two transactions never wait on each
// other in a cycle), and reads their counts: three statements whatever
// the number of sources.
func (a *Activities) lockSources(ctx context.Context, tx pgx.Tx, tenant string, sources []string) (map[string]*sourceState, error) {
	c := a.Config.Admission
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM (
			SELECT DISTINCT hashtextextended('ingest ' || $1 || ' ' || s, 0) AS k FROM unnest($2::text[]) AS s ORDER BY 1) AS keys`,
		tenant, sources); err != nil {
		return nil, fmt.Errorf("lock sources: %w", err)
	}
	state := make(map[string]*sourceState, len(sources))
	for _, src := range sources {
		state[src] = &sourceState{}
	}
	var src string
	if c.RateLimit > 0 {
		var n int
		rows, err := tx.Query(ctx, `SELECT source, count(*) FROM ingest_provenance
			WHERE tenant_id = $1 AND source = ANY($2) AND received_at > now() - make_interval(secs => $3) GROUP BY source`,
			tenant, sources, c.RateWindow.Seconds())
		if err == nil {
			_, err = pgx.ForEachRow(rows, []any{&src, &n}, func() error { state[src].inRateWindow = n; return nil })
		}
		if err != nil {
			return nil, fmt.Errorf("count documents of sources: %w", err)
		}
	}
	if c.FloodAfter > 0 {
		var vec []float32
		rows, err := tx.Query(ctx, `SELECT source, doc_embedding FROM (
				SELECT source, doc_embedding, row_number() OVER (PARTITION BY source ORDER BY received_at DESC) AS n
				FROM ingest_provenance
				WHERE tenant_id = $1 AND source = ANY($2) AND received_at > now() - make_interval(secs => $3) AND doc_embedding IS NOT NULL) AS r
			WHERE n <= $4`, tenant, sources, c.FloodWindow.Seconds(), c.FloodScan)
		if err == nil {
			_, err = pgx.ForEachRow(rows, []any{&src, &vec}, func() error {
				state[src].recent = append(state[src].recent, slices.Clone(vec))
				return nil
			})
		}
		if err != nil {
			return nil, fmt.Errorf("recent documents of sources: %w", err)
		}
	}
	return state, nil
}

type prior struct {
	SNOID   string
	Status  string
	Reasons []string
}

func priorSubmissions(ctx context.Context, tx querier, sub submission, items []string) (map[string]prior, error) {
	rows, err := tx.Query(ctx, `SELECT item, sno_id, outcome, reasons FROM ingest_provenance
		WHERE tenant_id = $1 AND workflow_id = $2 AND item = ANY($3)`, sub.tenant, sub.workflowID, items)
	if err != nil {
		return nil, fmt.Errorf("read earlier submissions: %w", err)
	}
	out := map[string]prior{}
	var item string
	var p prior
	_, err = pgx.ForEachRow(rows, []any{&item, &p.SNOID, &p.Status, &p.Reasons}, func() error {
		out[item] = prior{SNOID: p.SNOID, Status: p.Status, Reasons: slices.Clone(p.Reasons)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read earlier submissions: %w", err)
	}
	return out, nil
}

// knownSNOs returns the outcomes of the SNOs of tenant among ids.
func knownSNOs(ctx context.Context, tx querier, tenant string, ids []string) (map[string]wf.Outcome, error) {
	rows, err := tx.Query(ctx, `SELECT s.sno_id, s.status, s.trust, s.reasons,
			coalesce(max(c.score) FILTER (WHERE c.critic = 'grounding'), 0),
			coalesce(max(c.score) FILTER (WHERE c.critic = 'logic'), 0),
			coalesce(max(c.score) FILTER (WHERE c.critic = 'novelty'), 0)
		FROM ingest_snos s LEFT JOIN ingest_critic_results c ON c.tenant_id = s.tenant_id AND c.sno_id = s.sno_id
		WHERE s.tenant_id = $1 AND s.sno_id = ANY($2)
		GROUP BY s.sno_id, s.status, s.trust, s.reasons`, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("read known SNOs: %w", err)
	}
	out := map[string]wf.Outcome{}
	var o wf.Outcome
	_, err = pgx.ForEachRow(rows, []any{&o.SNOID, &o.Status, &o.Scores.Trust, &o.Reasons, &o.Scores.Grounding, &o.Scores.Logic, &o.Scores.Novelty}, func() error {
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

// queueSNO queues the rows of a new SNO: the SNO (its JSON without the
// embedding, which has its own column), critic results, its quarantine
// record or its vector, and the text of a single document.
func (a *Activities) queueSNO(b *pgx.Batch, sub submission, d scored, o wf.Outcome) {
	hyp, trust := "", 0.0
	var emb []float32
	var doc []byte
	if d.sno != nil {
		hyp, trust, emb = d.sno.Hypothesis, d.sno.Trust, d.sno.Embedding
		c := *d.sno
		c.Embedding = nil
		doc, _ = json.Marshal(c) // plain data: cannot fail
	}
	b.Queue(`INSERT INTO ingest_snos (tenant_id, sno_id, status, schema_version, hypothesis, trust,
			reasons, source, content_sha256, size_bytes, embedder, embedding, sno)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		sub.tenant, d.snoID, o.Status, sno.SchemaVersion, hyp, trust, nonNil(o.Reasons), d.source, d.sha, len(d.body),
		a.Embedder.Name(), emb, doc)
	if d.sno != nil && len(d.sno.Critics) > 0 {
		n := len(d.sno.Critics)
		names, expl, subs := make([]string, n), make([]string, n), make([]string, n)
		scores, confs := make([]float64, n), make([]float64, n)
		for i, r := range d.sno.Critics {
			js, _ := json.Marshal(r.SubScores)
			names[i], expl[i], subs[i], scores[i], confs[i] = r.Critic, r.Explanation, string(js), r.Score, r.Confidence
		}
		b.Queue(`INSERT INTO ingest_critic_results (tenant_id, sno_id, critic, score, confidence, explanation, sub_scores)
			SELECT $1, $2, c, s, f, e, j::jsonb FROM unnest($3::text[], $4::float8[], $5::float8[], $6::text[], $7::text[]) AS u(c, s, f, e, j)`,
			sub.tenant, d.snoID, names, scores, confs, expl, subs)
	}
	switch o.Status {
	case wf.StatusQuarantined:
		details, _ := json.Marshal(d.details)
		b.Queue(`INSERT INTO ingest_quarantine (tenant_id, sno_id, reasons, details) VALUES ($1, $2, $3, $4)`,
			sub.tenant, d.snoID, o.Reasons, details)
	case wf.StatusAdmitted:
		b.Queue(`INSERT INTO ingest_vectors (tenant_id, sno_id, embedding) VALUES ($1, $2, $3)`, sub.tenant, d.snoID, emb)
	}
	if d.keepText {
		b.Queue(`INSERT INTO ingest_texts (tenant_id, content_sha256, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			sub.tenant, d.sha, d.body)
	}
}

// queueProvenance queues the record of one submission.
func queueProvenance(b *pgx.Batch, sub submission, d scored, o wf.Outcome) {
	md := d.metadata
	if md == nil {
		md = map[string]string{}
	}
	mdJSON, _ := json.Marshal(md)
	b.Queue(`INSERT INTO ingest_provenance (tenant_id, workflow_id, item, run_id, sno_id, source, submitter,
			content_sha256, size_bytes, outcome, reasons, metadata, doc_embedding)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		sub.tenant, sub.workflowID, d.item, sub.runID, d.snoID, d.source, sub.submitter,
		d.sha, len(d.body), o.Status, nonNil(o.Reasons), mdJSON, d.docVec)
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
