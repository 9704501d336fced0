package starter

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/dev/testenv"
	"contextworker/internal/searchattr"
)

// The start benchmarks compare workflow starts through the starter (HTTP,
// JWT, validation, one gRPC call) with direct SDK starts, against the same
// dev server in the same run. Both start the quick workflow, which a worker
// completes at once, and report starts/s; `make bench` prints the ratio.

// benchParallelism is the number of concurrent starters per GOMAXPROCS: starts
// wait on Temporal, so one client per core would leave it idle.
const benchParallelism = 8

func BenchmarkStartViaStarter(b *testing.B) {
	h := integrationHarness(b, func(o *Options) {
		o.Config.RatePerSecond, o.Config.Burst = 1e6, 1e6
		o.Config.MaxRunning = 0 // one tenant starts thousands a second
	})
	tok := h.token(uniqueTenant("bench"), RoleOperator)
	body := fmt.Sprintf(`{"type":%q,"input":{"n":1}}`, typeQuick)
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// Not h.send: it may call Fatal, which only the benchmark's own
			// goroutine may do.
			rq, err := http.NewRequest(http.MethodPost, h.url+"/v1/workflows", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			rq.Header.Set("Authorization", "Bearer "+tok)
			rq.Header.Set("Content-Type", "application/json")
			resp, err := h.http.Do(rq)
			if err != nil {
				b.Error(err)
				return
			}
			msg, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("start: %d %s", resp.StatusCode, msg)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "starts/s")
}

func BenchmarkStartDirect(b *testing.B) {
	testenv.Integration(b)
	tc := testenv.TemporalClient(b)
	startWorker(b, tc)
	// The same request the starter sends: search attributes and a summary.
	opts := client.StartWorkflowOptions{
		TaskQueue: testQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.Tenant.ValueSet(uniqueTenant("bench")),
			searchattr.Module.ValueSet(testModule{}.Name()),
		),
		StaticSummary: "quick, started directly",
	}
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tc.ExecuteWorkflow(b.Context(), opts, typeQuick, quickInput{N: 1}); err != nil {
				b.Errorf("start: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "starts/s")
}
