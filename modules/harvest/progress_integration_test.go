package harvest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	wf "contextworker/workflows/harvest"
)

// TestProgressShowsLiveStagingCounts: while a feed is still being staged,
// the progress query already shows rows read (it used to show 0 until the
// stage ended).
func TestProgressShowsLiveStagingCounts(t *testing.T) {
	s := newStack(t, "batch_size: 100\nprogress_interval: 300ms\nchain_gardener: false\n")
	const rows = 2000
	seen := make(chan struct{})
	srv := faultyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		w.Write([]byte(header))
		for i := 1; i <= rows; i++ {
			w.Write([]byte(goodRow(i, "1.00")))
			if i%100 == 0 {
				w.(http.Flusher).Flush()
				// Halfway, the feed waits until the test saw live counts
				// (or for long): on a loaded machine, the progress signals
				// (at 0.3 s, 0.9 s, 2.1 s, … into the stage) and the query
				// can take longer than a feed paced at 200 ms per 100 rows.
				pause := 200 * time.Millisecond
				if i == rows/2 {
					pause = time.Minute
				}
				select {
				case <-seen: // the test saw live counts: the rest at full speed
				case <-time.After(pause):
				case <-r.Context().Done():
					return
				}
			}
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := wf.Input{TenantID: "acme", SupplierCode: "live", FeedURL: srv.URL + "/feed.csv", Format: "csv"}
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(in.TenantID, in.SupplierCode), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	for {
		v, err := s.tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), wf.QueryProgress)
		var p wf.Progress
		if err == nil && v.Get(&p) == nil {
			if p.Phase != "staging" && p.Phase != "begin" && p.Phase != "" {
				t.Fatalf("staging ended (phase %s) before the progress query showed any live count", p.Phase)
			}
			if p.Phase == "staging" && p.Stage.RowsRead > 0 {
				t.Logf("live during staging: %+v", p.Stage)
				if p.Stage.RowsRead >= rows || p.Stage.Valid+p.Stage.Rejected != p.Stage.RowsRead || p.Stage.Bytes == 0 {
					t.Fatalf("live counts %+v are not a partial, consistent count", p.Stage)
				}
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no live counts before the timeout")
		case <-time.After(100 * time.Millisecond):
		}
	}
	close(seen)
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil || rep.Inserted != rows {
		t.Fatalf("harvest = %+v, %v; want %d inserted", rep, err, rows)
	}
	if *updateHistory {
		s.saveHistory(run.GetID(), run.GetRunID(), "../../workflows/harvest/testdata/harvest_history_live_progress.json")
	}
}
