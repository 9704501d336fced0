package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"

	wf "contextworker/workflows/ingest"
)

// Decide records an operator's decision on a quarantined SNO and applies
// it: release admits it (its vector joins the tenant's index), delete
// clears its content and stored text and keeps the row as a tombstone. A
// retry of the same request returns the SNO's state; a decision on an SNO
// that is not quarantined is refused.
func (a *Activities) Decide(ctx context.Context, req wf.DecideRequest) (wf.Outcome, error) {
	if req.Decision != wf.SignalRelease && req.Decision != wf.SignalDelete {
		return wf.Outcome{}, nonRetryable(ErrTypeBadInput, "decide: decision %q must be %q or %q", req.Decision, wf.SignalRelease, wf.SignalDelete)
	}
	if req.Detail.SNOID == "" || req.Detail.Operator == "" {
		return wf.Outcome{}, nonRetryable(ErrTypeBadInput, "decide: sno_id and operator are required")
	}
	wid := activity.GetInfo(ctx).WorkflowExecution.ID
	id := req.Detail.SNOID
	var out wf.Outcome
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var status, sha string
		var hasSNO bool
		err := tx.QueryRow(ctx, `SELECT status, sno IS NOT NULL, content_sha256 FROM ingest_snos
			WHERE tenant_id = $1 AND sno_id = $2 FOR UPDATE`, req.TenantID, id).Scan(&status, &hasSNO, &sha)
		if errors.Is(err, pgx.ErrNoRows) {
			return nonRetryable(ErrTypeUnknownSNO, "decide: tenant %s has no SNO %s", req.TenantID, id)
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO ingest_decisions (tenant_id, sno_id, decision, operator, note, workflow_id, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workflow_id, request_id) DO NOTHING`,
			req.TenantID, id, req.Decision, req.Detail.Operator, req.Detail.Note, wid, req.RequestID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // a retry: already applied
		}
		switch {
		case status != wf.StatusQuarantined:
			return nonRetryable(ErrTypeNotQuarantined, "decide: SNO %s is %s; only a quarantined SNO can be released or deleted", id, status)
		case req.Decision == wf.SignalRelease && !hasSNO:
			return nonRetryable(ErrTypeNothingToAdmit, "decide: SNO %s was refused before an SNO could be built (see its reasons); it can only be deleted", id)
		}
		if req.Decision == wf.SignalRelease {
			_, err = tx.Exec(ctx, `WITH s AS (UPDATE ingest_snos SET status = 'admitted', updated_at = now()
					WHERE tenant_id = $1 AND sno_id = $2 RETURNING embedder, embedding)
				INSERT INTO ingest_vectors (tenant_id, sno_id, embedder, embedding) SELECT $1, $2, embedder, embedding FROM s`, req.TenantID, id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE ingest_snos SET status = 'deleted', hypothesis = '', sno = NULL, embedding = NULL,
					updated_at = now() WHERE tenant_id = $1 AND sno_id = $2`, req.TenantID, id)
			if err == nil {
				// the deleted text's embedding goes too (the flood window
				// still counts the submission)
				_, err = tx.Exec(ctx, `UPDATE ingest_provenance SET doc_embedding = NULL WHERE tenant_id = $1 AND sno_id = $2`, req.TenantID, id)
			}
			if err == nil {
				_, err = tx.Exec(ctx, `DELETE FROM ingest_texts WHERE tenant_id = $1 AND content_sha256 = $2`, req.TenantID, sha)
			}
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE ingest_quarantine SET decision = $3, decided_by = $4, decided_at = now()
			WHERE tenant_id = $1 AND sno_id = $2`, req.TenantID, id, req.Decision, req.Detail.Operator)
		return err
	})
	if err != nil {
		return wf.Outcome{}, wrap(fmt.Sprintf("decide %s on %s", req.Decision, id), err)
	}
	known, err := knownSNOs(ctx, a.DB, req.TenantID, []string{id})
	if err != nil {
		return wf.Outcome{}, err
	}
	out = known[id]
	return out, nil
}
