package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"contextworker/internal/pg"
	"contextworker/registry"
	gwf "contextworker/workflows/gardener"
	hwf "contextworker/workflows/harvest"
)

// demo is one module's demonstration: it starts or finds a workflow, waits
// for it (saying what it waits for), and returns what to print.
type demo struct {
	name string
	run  func(ctx context.Context, c client.Client) (string, error)
}

// demos lists the demonstrations in the order make run shows them.
func (s *Stack) demos() []demo {
	return []demo{
		{"harvest", s.demoHarvest},
		{"gardener", s.demoGardener},
		{"ingest", s.demoIngest},
		{"deploy", s.demoDeploy},
		{"encryption", s.demoEncryption},
	}
}

// runDemos runs each demo within DemoTimeout. A demo that fails or takes
// longer is reported, and its workflow goes on in the background: the stack
// stays up either way.
func (s *Stack) runDemos(ctx context.Context) {
	c, err := s.dial()
	if err != nil {
		s.say("demos skipped: cannot reach Temporal: %v", err)
		return
	}
	defer c.Close()
	for _, d := range s.demos() {
		dctx, cancel := context.WithTimeout(ctx, s.o.DemoTimeout)
		out, err := d.run(dctx, c)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			s.say("%s demo: still running after %s; it goes on in the background (watch it in the Web UI). The stack stays up.", d.name, s.o.DemoTimeout)
		case err != nil:
			s.say("%s demo did not finish: %v. The stack stays up; see .data/logs/worker.log.", d.name, err)
		}
		if out != "" {
			fmt.Fprintf(s.o.Out, "\n=== %s demo ===\n%s\n", d.name, out)
		}
	}
}

// await waits for the workflow id's current run to close and decodes its
// result into result. Every few seconds it prints the run's progress query
// (the one the workflow type declares in the registry) when it changed,
// so make run never waits in silence.
func (s *Stack) await(ctx context.Context, c client.Client, id string, result any) error {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("describe %s: %w", id, err)
	}
	progress := ""
	if _, wf, ok := registry.Default().Workflow(desc.GetWorkflowExecutionInfo().GetType().GetName()); ok {
		progress = wf.ProgressQuery
	}
	done := make(chan error, 1)
	go func() { done <- c.GetWorkflow(ctx, id, "").Get(ctx, result) }()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	last := ""
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if progress == "" {
				s.say("  waiting for %s…", id)
				continue
			}
			v, err := c.QueryWorkflow(ctx, id, "", progress)
			if err != nil {
				continue // between runs (continue-as-new) or busy: ask again
			}
			var p json.RawMessage
			if v.Get(&p) == nil && string(p) != last {
				last = string(p)
				s.say("  %s: %s", id, compactProgress(p))
			}
		}
	}
}

// compactProgress shows a progress value as key=value pairs, leaving out
// zeros and empty strings.
func compactProgress(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return string(raw)
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if v == "" {
				continue
			}
		case float64:
			if v == 0 {
				continue
			}
		case nil, bool, map[string]any, []any:
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return strings.Join(parts, " ")
}

// uiLink links a workflow run in the Web UI (the run's history when runID
// is known). The id is one escaped path segment: unescaped, its slashes
// make the UI answer its 404 page.
func (s *Stack) uiLink(id, runID string) string {
	link := fmt.Sprintf("http://localhost:%d/namespaces/default/workflows/%s", s.o.UIPort, url.PathEscape(id))
	if runID != "" {
		link += "/" + url.PathEscape(runID) + "/history"
	}
	return link
}

// demoHarvest harvests the demo feed (forced, so every make run shows a
// full run) and returns its report.
func (s *Stack) demoHarvest(ctx context.Context, c client.Client) (string, error) {
	in := hwf.Input{TenantID: "acme", SupplierCode: "demo", Force: true}
	id := hwf.WorkflowID(in.TenantID, in.SupplierCode)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: hwf.TaskQueue, StaticSummary: "demo harvest acme/demo (make run)",
	}, hwf.WorkflowName, in)
	if err != nil {
		return "", fmt.Errorf("start: %w", err)
	}
	s.say("harvest demo: started workflow %s (%s)", id, s.uiLink(id, run.GetRunID()))
	var rep hwf.Report
	if err := s.await(ctx, c, id, &rep); err != nil {
		return "", err
	}
	s.harvestChanged = rep.Inserted+rep.Updated+rep.Deactivated > 0
	b, _ := json.MarshalIndent(rep, "", "  ")
	return fmt.Sprintf("%s\n  rejected rows: %s\n  in the Web UI: %s", b, rep.RejectsQuery, s.uiLink(id, run.GetRunID())), nil
}

// demoGardener waits for the gardener run the demo harvest chained
// (gardener/acme) and shows a few enriched products with their provenance.
func (s *Stack) demoGardener(ctx context.Context, c client.Client) (string, error) {
	id := gwf.WorkflowID("acme")
	s.say("gardener demo: waiting for %s, which the harvest chained", id)
	for {
		if d, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			s.say("gardener demo: %s", s.uiLink(id, d.GetWorkflowExecutionInfo().GetExecution().GetRunId()))
			break
		}
		if !s.harvestChanged {
			// Products stored by an earlier make run whose Temporal state
			// is gone (.data/temporal.db removed): nothing changed, so
			// nothing was chained.
			s.say("gardener demo: the harvest changed no product, so it chained no gardener run; the enrichments stored before:")
			return s.enrichedSample(ctx)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the harvest did not start %s: %w", id, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := s.await(ctx, c, id, nil); err != nil {
		return "", err
	}
	return s.enrichedSample(ctx)
}

// enrichedSample prints the enrichments of the three most enriched demo
// products.
func (s *Stack) enrichedSample(ctx context.Context) (string, error) {
	db, err := pg.Connect(ctx, s.dsn, 1, 30*time.Second, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.Query(ctx, `SELECT e.sku, e.field, e.value::text, e.enricher || '@' || e.enricher_version
		FROM enrichments e WHERE e.tenant_id = 'acme' AND e.sku IN (
			SELECT sku FROM enrichments WHERE tenant_id = 'acme' GROUP BY sku ORDER BY count(*) DESC, sku LIMIT 3)
		ORDER BY e.sku, e.field`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SKU\tFIELD\tVALUE\tPROVENANCE")
	for rows.Next() {
		var sku, field, value, prov string
		if err := rows.Scan(&sku, &field, &value, &prov); err != nil {
			return "", err
		}
		if len(value) > 60 {
			value = value[:57] + "..."
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", sku, field, value, prov)
	}
	tw.Flush()
	return b.String(), rows.Err()
}

// printWhere prints where everything runs.
func (s *Stack) printWhere() {
	out := s.o.Out
	fmt.Fprintf(out, "\n=== what runs where ===\n")
	fmt.Fprintf(out, "  Temporal Web UI   http://localhost:%d/namespaces/default/workflows\n", s.o.UIPort)
	fmt.Fprintf(out, "  Temporal gRPC     127.0.0.1:%d (bin/temporal workflow list --address 127.0.0.1:%d)\n", s.o.TemporalPort, s.o.TemporalPort)
	if s.cluster != nil {
		fmt.Fprintf(out, "  PostgreSQL        psql %s\n", s.dsn)
	}
	fmt.Fprintf(out, "  worker metrics    http://%s/metrics\n", s.o.MetricsAddr)
	fmt.Fprintf(out, "  starter REST API  %s/v1/workflows (JWT: bin/starter token --tenant acme --roles operator)\n", s.o.StarterURL)
	fmt.Fprintf(out, "  starter gRPC      %s (WorkerService, same JWT)\n", s.o.GRPCListen)
	if s.encrypted {
		fmt.Fprintf(out, "  codec server      %s/codec/default (the Web UI decodes payloads through it; key in .data/payload-key)\n", s.o.StarterURL)
	}
	if s.appURL != "" {
		fmt.Fprintf(out, "  deployed app      %s (releases in %s; stopped with the stack)\n", s.appURL, deployDir)
	}
	fmt.Fprintf(out, "  demo feed         http://%s/demo.csv\n", s.o.FeedAddr)
	fmt.Fprintf(out, "  logs              %s/{temporal,worker,starter}.log\n", s.logs)
	if tok := s.devToken(); tok != "" {
		fmt.Fprintf(out, "\n=== try the starter ===\n")
		fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' http://127.0.0.1:8081/v1/workflows/%s\n", tok, url.PathEscape(hwf.WorkflowID("acme", "demo")))
	}
	fmt.Fprintf(out, "\nCtrl-C stops everything make run started.\n")
}
