package harvest_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	wf "contextworker/workflows/harvest"
)

// faultyServer serves the feed handlers of the fault cases.
func faultyServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestFailingFeedsEndWithinBudget: a feed that fails the same way forever
// ends its run within fetch_attempts with a clear, non-retryable type and
// the reason, instead of retrying until stage_timeout.
func TestFailingFeedsEndWithinBudget(t *testing.T) {
	s := newStack(t, "fetch_attempts: 2\nfetch_budget: 1m\nhttp_timeout: 1s\nmin_feed_rate: 1000\nheartbeat_timeout: 3s\n")
	rows := header + goodRow(1, "1.00") + goodRow(2, "2.00")
	mux := http.NewServeMux()
	mux.HandleFunc("/500", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/cut", func(w http.ResponseWriter, _ *http.Request) {
		// chunked (no Content-Length), then the connection drops mid-body
		w.Header().Set("Content-Type", "text/csv")
		w.Write([]byte(rows))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		for i := 0; ; i++ {
			if _, err := w.Write([]byte{rows[i%len(rows)]}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/cut.json", func(w http.ResponseWriter, _ *http.Request) {
		// a whole response, no Content-Length, but the JSON array never ends
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush()
		w.Write([]byte(`[{"sku":"J-1","name":"One","price":"1.00","currency":"EUR"},{"sku":"J-2","name":"Two","price":"2.00","currency":"EUR"}`))
	})
	srv := faultyServer(t, mux)

	for _, tc := range []struct {
		name, url, wantType, wantMsg string
	}{
		{"500 forever", srv.URL + "/500", "FeedUnavailable", "HTTP 500"},
		{"chunked body cut short", srv.URL + "/cut", "FeedTruncated", "broke off"},
		{"a byte at a time", srv.URL + "/drip", "FeedTooSlow", "min_feed_rate 1000"},
		{"a host that does not resolve", "http://feeds.nonexistent.invalid/feed.csv", "FeedUnavailable", "no such host"},
		{"json without its closing bracket", srv.URL + "/cut.json", "FeedTruncated", "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			format := "csv"
			if strings.HasSuffix(tc.url, ".json") {
				format = "json"
			}
			_, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "faulty", FeedURL: tc.url, Format: format})
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != tc.wantType {
				t.Fatalf("harvest error = %v, want type %s", err, tc.wantType)
			}
			if !strings.Contains(appErr.Error(), tc.wantMsg) || !strings.Contains(appErr.Error(), "gave up after 2 attempts") {
				t.Fatalf("error %q should say %q and how long it tried", appErr.Error(), tc.wantMsg)
			}
			if !appErr.NonRetryable() {
				t.Fatalf("error %v is retryable", appErr)
			}
		})
	}

	t.Run("a decimal IP is refused at the start", func(t *testing.T) {
		_, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "faulty", FeedURL: "http://2130706433/feed.csv", Format: "csv"})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != "BadConfig" || !strings.Contains(appErr.Error(), "written as a number") {
			t.Fatalf("harvest error = %v, want BadConfig saying the host is a number", err)
		}
	})
}

// TestCanceledStageLetsGoOfTheFeed: a Stage attempt waiting on a feed that
// never finishes stops when its workflow is canceled: no connection to the
// feed server stays open (each abandoned attempt used to keep one, and its
// goroutines, until stage_timeout).
func TestCanceledStageLetsGoOfTheFeed(t *testing.T) {
	s := newStack(t, "min_feed_rate: 0\nheartbeat_timeout: 2s\n")
	var open atomic.Int32
	served := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		w.Write([]byte(header))
		w.(http.Flusher).Flush()
		select {
		case served <- struct{}{}:
		default:
		}
		<-r.Context().Done() // the rest never comes
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := context.Background()
	in := wf.Input{TenantID: "acme", SupplierCode: "hang", FeedURL: srv.URL + "/feed.csv", Format: "csv"}
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(in.TenantID, in.SupplierCode), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	<-served
	harvestGoroutines := func() bool {
		var dump bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&dump, 1) //nolint:errcheck // a bytes.Buffer
		return strings.Contains(dump.String(), "contextworker/activities/harvest.")
	}
	if !harvestGoroutines() {
		t.Fatal("no Stage goroutine found while it waits on the feed: the check below would prove nothing")
	}
	if err := s.tc.CancelWorkflow(ctx, run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("canceled run succeeded")
	}
	// The attempt learns of the cancel from its next heartbeat answer and
	// closes the body; wait for that, bounded by the test's own timeout.
	for open.Load() > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	// And no goroutine of the attempt (reader, normalisers, watchdog,
	// heartbeat) is left running in the worker (this process).
	for harvestGoroutines() {
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFetchBudgetBoundsTime: with attempts to spare, a failing feed still
// fails once fetch_budget has passed since the first attempt.
func TestFetchBudgetBoundsTime(t *testing.T) {
	s := newStack(t, "fetch_attempts: 1000\nfetch_budget: 2s\n")
	srv := faultyServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	_, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "budget", FeedURL: srv.URL + "/feed.csv", Format: "csv"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "FeedUnavailable" || !strings.Contains(appErr.Error(), "fetch_budget 2s") {
		t.Fatalf("harvest error = %v, want FeedUnavailable once fetch_budget 2s is spent", err)
	}
}
