package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestSDKMetricsReachPrometheus: what the SDK emits through SDKHandler is
// exported with Prometheus names (counters _total, timers _seconds).
func TestSDKMetricsReachPrometheus(t *testing.T) {
	m := New(quiet())
	h := m.SDKHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "harvest"})
	h.Counter("temporal_request").Inc(3)
	h.Timer("temporal_activity_execution_latency").Record(1500e6)
	if err := m.Close(); err != nil { // Close flushes the scope
		t.Fatal(err)
	}
	names := gatheredNames(t, m)
	for _, want := range []string{"temporal_request_total", "temporal_activity_execution_latency_seconds", "go_goroutines", "process_resident_memory_bytes"} {
		if !names[want] {
			t.Errorf("%s not exported; have %v", want, names)
		}
	}
	if want := `temporal_request_total{namespace="default",task_queue="harvest"} 3`; !strings.Contains(scrape(t, m), want) {
		t.Errorf("scrape lacks %q", want)
	}
}

func TestBoundedLabels(t *testing.T) {
	m := New(quiet())
	defer m.Close()
	c, err := NewCounter(m.For("harvest"), "harvest_rejects_total", "rejected rows", 3, "reason")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		c.Add(1, fmt.Sprintf("reason-%d", i))
	}
	c.Add(1, "reason-0") // an admitted value stays itself
	out := scrape(t, m)
	for _, want := range []string{
		`contextworker_harvest_rejects_total{module="harvest",reason="reason-0"} 2`,
		`contextworker_harvest_rejects_total{module="harvest",reason="reason-2"} 1`,
		`contextworker_harvest_rejects_total{module="harvest",reason="other"} 7`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if n := strings.Count(out, "contextworker_harvest_rejects_total{"); n != 4 {
		t.Errorf("%d series, want 3 admitted + other", n)
	}
	if _, err := NewCounter(m.For("harvest"), "harvest_rejects_total", "again", 3, "reason"); err == nil {
		t.Error("duplicate registration accepted")
	}
	if _, err := NewGauge(m.For("x"), "g", "", 0, "l"); err == nil {
		t.Error("maxSeries 0 with labels accepted")
	}
	h, err := NewHistogram(m.For("gardener"), "gardener_batch_seconds", "batch time", nil, 2, "enricher")
	if err != nil {
		t.Fatal(err)
	}
	h.Observe(0.5, "brand")
	g, err := NewGauge(m.For("gardener"), "gardener_backlog", "products waiting", 1)
	if err != nil {
		t.Fatal(err)
	}
	g.Set(42)
	out = scrape(t, m)
	for _, want := range []string{`contextworker_gardener_batch_seconds_count{enricher="brand",module="gardener"} 1`, `contextworker_gardener_backlog{module="gardener"} 42`} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestServe(t *testing.T) {
	m := New(quiet())
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Serve(ctx, "127.0.0.1:0", m.Handler(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("scrape: %d %.200s", resp.StatusCode, body)
	}
	if _, err := Serve(ctx, addr.String(), m.Handler(), quiet()); err == nil || !strings.Contains(err.Error(), "metrics: listen") {
		t.Fatalf("second listen on a used port: %v", err)
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

func gatheredNames(t *testing.T, m *Metrics) map[string]bool {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}
