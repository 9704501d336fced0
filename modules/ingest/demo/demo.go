// Package demo is make run's ingest demo: it ingests the sample documents
// (one of them poisoned) through the ingest workflow on a running stack and
// prints the admitted and quarantined SNOs with their scores. It is dev
// tooling: shipping code must never import it.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	wf "contextworker/workflows/ingest"
)

// Demo ingests every *.txt file of dir as tenant's documents (source: the
// file name without .txt), waits until each is scored, and prints the
// SNOs. A quarantined document's workflow stays open, waiting for an
// operator's release or delete signal; the table says how to send one.
func Demo(ctx context.Context, tc client.Client, db *pgxpool.Pool, tenant, dir string, out io.Writer) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("ingest demo: no *.txt documents in %s (%v)", dir, err)
	}
	slices.Sort(files)
	var ids []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("ingest demo: %w", err)
		}
		in := wf.Input{TenantID: tenant, Source: strings.TrimSuffix(filepath.Base(f), ".txt"), Text: string(text)}
		id := wf.WorkflowID(&in)
		if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: wf.TaskQueue}, wf.WorkflowName, in); err != nil {
			return fmt.Errorf("ingest demo: start %s: %w", id, err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := waitScored(ctx, tc, id); err != nil {
			return err
		}
	}
	return print(ctx, db, tenant, ids, out)
}

// waitScored polls the progress query until the document is done.
func waitScored(ctx context.Context, tc client.Client, id string) error {
	for {
		v, err := tc.QueryWorkflow(ctx, id, "", wf.QueryProgress)
		if err == nil {
			var p wf.Progress
			if v.Get(&p) == nil && p.Done == 1 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ingest demo: waiting for %s: %w", id, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func print(ctx context.Context, db *pgxpool.Pool, tenant string, ids []string, out io.Writer) error {
	rows, err := db.Query(ctx, `SELECT p.workflow_id, s.sno_id, s.status, s.trust,
			coalesce(max(c.score) FILTER (WHERE c.critic = 'grounding'), 0),
			coalesce(max(c.score) FILTER (WHERE c.critic = 'logic'), 0),
			coalesce(max(c.score) FILTER (WHERE c.critic = 'novelty'), 0),
			array_to_string(s.reasons, ','), p.source, s.extractor
		FROM ingest_provenance p JOIN ingest_snos s USING (tenant_id, sno_id)
		LEFT JOIN ingest_critic_results c USING (tenant_id, sno_id)
		WHERE p.tenant_id = $1 AND p.workflow_id = ANY($2)
		GROUP BY p.workflow_id, s.sno_id, s.status, s.trust, s.reasons, p.source, s.extractor ORDER BY p.source`, tenant, ids)
	if err != nil {
		return fmt.Errorf("ingest demo: read SNOs: %w", err)
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSNO\tSTATUS\tTRUST\tGROUNDING\tLOGIC\tNOVELTY\tEXTRACTOR\tREASONS")
	var quarantined [][2]string // workflow id, SNO id
	for rows.Next() {
		var wid, id, status, reasons, source, extractor string
		var trust, g, l, n float64
		if err := rows.Scan(&wid, &id, &status, &trust, &g, &l, &n, &reasons, &source, &extractor); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%s\n", source, id, status, trust, g, l, n, extractor, reasons)
		if status == wf.StatusQuarantined {
			quarantined = append(quarantined, [2]string{wid, id})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	tw.Flush()
	for _, q := range quarantined {
		fmt.Fprintf(out, "review: bin/temporal workflow signal --name release --workflow-id %s --input '{\"operator\":\"you\"}'   (or --name delete)\n", q[0])
		fmt.Fprintf(out, "   or, once that run has closed: bin/temporal workflow start --type %s --task-queue %s --workflow-id %s/%s/%s --input '{\"tenant_id\":\"%s\",\"sno_id\":\"%s\",\"decision\":\"release\",\"operator\":\"you\"}'\n",
			wf.ReviewWorkflowName, wf.TaskQueue, wf.ReviewWorkflowName, tenant, q[1], tenant, q[1])
	}
	return nil
}
