package ingest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"contextworker/modules/ingest/sno"
	wf "contextworker/workflows/ingest"
)

// rowWriter collects the rows an admit transaction writes and writes them
// with one COPY per table: a statement per row cost PostgreSQL more than
// all the rest of ingestion, and held the sources' locks that long.
type rowWriter struct {
	sub                                        submission
	embedder                                   string
	snos, critics, quarantine, vectors, proven [][]any
	// texts are single documents' texts, inserted with ON CONFLICT DO
	// NOTHING (which COPY cannot do); a batch has none.
	texts *pgx.Batch
}

func newRowWriter(sub submission, embedder string) *rowWriter {
	return &rowWriter{sub: sub, embedder: embedder}
}

// sno adds the rows of a new SNO: the SNO (its JSON without the
// embedding, which has its own column, nor the extractor that built it,
// which has one too), critic results, its quarantine
// record or its vector, and the text of a single document.
func (w *rowWriter) sno(d scored, o wf.Outcome) {
	t := w.sub.tenant
	hyp, trust, extractor := "", 0.0, ""
	var emb []float32
	var doc []byte
	if d.sno != nil {
		hyp, trust, emb, extractor = d.sno.Hypothesis, d.sno.Trust, d.sno.Embedding, d.sno.Extractor
		c := *d.sno
		c.Embedding = nil
		doc, _ = json.Marshal(c) // plain data: cannot fail
	}
	w.snos = append(w.snos, []any{t, d.snoID, o.Status, sno.SchemaVersion, hyp, trust, nonNil(o.Reasons), d.source, d.sha,
		len(d.body), w.embedder, emb, doc, extractor})
	if d.sno != nil {
		for _, r := range d.sno.Critics {
			js, _ := json.Marshal(r.SubScores)
			w.critics = append(w.critics, []any{t, d.snoID, r.Critic, r.Score, r.Confidence, r.Explanation, js})
		}
	}
	switch o.Status {
	case wf.StatusQuarantined:
		details, _ := json.Marshal(d.details)
		w.quarantine = append(w.quarantine, []any{t, d.snoID, o.Reasons, details})
	case wf.StatusAdmitted:
		w.vectors = append(w.vectors, []any{t, d.snoID, w.embedder, emb})
	}
	if d.keepText {
		if w.texts == nil {
			w.texts = &pgx.Batch{}
		}
		w.texts.Queue(`INSERT INTO ingest_texts (tenant_id, content_sha256, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			t, d.sha, d.body)
	}
}

// provenance adds the record of one submission.
func (w *rowWriter) provenance(d scored, o wf.Outcome) {
	md := d.metadata
	if md == nil {
		md = map[string]string{}
	}
	mdJSON, _ := json.Marshal(md)
	w.proven = append(w.proven, []any{w.sub.tenant, w.sub.workflowID, d.item, w.sub.runID, d.snoID, d.source, w.sub.submitter,
		d.sha, len(d.body), o.Status, nonNil(o.Reasons), mdJSON, d.docVec, w.embedder})
}

// write copies the rows, the SNOs before the critic results that
// reference them.
func (w *rowWriter) write(ctx context.Context, tx pgx.Tx) error {
	tables := []struct {
		name string
		cols []string
		rows [][]any
	}{
		{"ingest_snos", []string{"tenant_id", "sno_id", "status", "schema_version", "hypothesis", "trust",
			"reasons", "source", "content_sha256", "size_bytes", "embedder", "embedding", "sno", "extractor"}, w.snos},
		{"ingest_critic_results", []string{"tenant_id", "sno_id", "critic", "score", "confidence", "explanation", "sub_scores"}, w.critics},
		{"ingest_quarantine", []string{"tenant_id", "sno_id", "reasons", "details"}, w.quarantine},
		{"ingest_vectors", []string{"tenant_id", "sno_id", "embedder", "embedding"}, w.vectors},
		{"ingest_provenance", []string{"tenant_id", "workflow_id", "item", "run_id", "sno_id", "source", "submitter",
			"content_sha256", "size_bytes", "outcome", "reasons", "metadata", "doc_embedding", "doc_embedder"}, w.proven},
	}
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("write %s: %w", t.name, err)
		}
	}
	if w.texts != nil {
		if err := tx.SendBatch(ctx, w.texts).Close(); err != nil {
			return fmt.Errorf("write ingest_texts: %w", err)
		}
	}
	return nil
}
