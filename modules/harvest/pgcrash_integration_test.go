package harvest_test

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	wf "contextworker/workflows/harvest"
)

// TestReportIsTrueAfterADatabaseCrash crashes PostgreSQL in the middle of
// staging (a backend SIGKILLed makes the postmaster reset every backend
// and run crash recovery, which empties UNLOGGED tables, the staging
// checkpoint among them). The run still ends right, and its report says
// how many attempts staging took and that the checkpoint was lost (it used
// to say 1 attempt, resumed from row 0).
func TestReportIsTrueAfterADatabaseCrash(t *testing.T) {
	s := newStack(t, "batch_size: 100\nheartbeat_timeout: 3s\nchain_gardener: false\n")
	const rows = 3000
	crashed := make(chan struct{})
	srv := faultyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		w.Write([]byte(header))
		for i := 1; i <= rows; i++ {
			w.Write([]byte(goodRow(i, "1.00")))
			if i%100 == 0 {
				w.(http.Flusher).Flush()
				select {
				case <-crashed: // after the crash, at full speed
				case <-time.After(100 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
			}
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan struct{})
	var rep *wf.Report
	var err error
	go func() {
		defer close(done)
		rep, err = s.harvest(wf.Input{TenantID: "acme", SupplierCode: "pgcrash", FeedURL: srv.URL + "/feed.csv", Format: "csv"})
	}()
	var staged int64
	for staged < 500 {
		select {
		case <-ctx.Done():
			t.Fatal("staging never got going")
		case <-done:
			t.Fatalf("the run ended before the crash: %+v %v", rep, err)
		case <-time.After(50 * time.Millisecond):
		}
		s.db.QueryRow(ctx, `SELECT coalesce(max(rows_consumed), 0) FROM harvest_stage_progress`).Scan(&staged) //nolint:errcheck // retried
	}
	var pid int
	if err := s.db.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("crash PostgreSQL: %v", err)
	}
	close(crashed)
	t.Logf("crashed PostgreSQL (backend %d SIGKILLed) with %d rows staged", pid, staged)
	<-done
	if err != nil {
		t.Fatalf("harvest after the crash: %v", err)
	}
	if rep.Inserted != rows || rep.Rejected != 0 {
		t.Fatalf("report %+v: want %d inserted", rep, rows)
	}
	if rep.StageAttempt < 2 || !rep.CheckpointLost || rep.ResumedFrom != 0 {
		t.Fatalf("report says %d stage attempts, checkpoint lost %v, resumed from row %d; want at least 2, true, 0",
			rep.StageAttempt, rep.CheckpointLost, rep.ResumedFrom)
	}
	var logged string
	if err := s.db.QueryRow(ctx, `SELECT stage_attempts || ' ' || checkpoint_lost FROM harvest_runs WHERE run_id = $1`, rep.RunID).Scan(&logged); err != nil ||
		!strings.HasSuffix(logged, " true") {
		t.Fatalf("harvest_runs says %q, %v", logged, err)
	}
}
