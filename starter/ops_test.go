package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
)

// countingService answers DescribeNamespace itself, counting the calls.
type countingService struct {
	workflowservice.WorkflowServiceClient
	calls   atomic.Int32
	missing bool
}

func (s *countingService) DescribeNamespace(context.Context, *workflowservice.DescribeNamespaceRequest, ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error) {
	s.calls.Add(1)
	if s.missing {
		return nil, serviceerror.NewNamespaceNotFound("nope")
	}
	return &workflowservice.DescribeNamespaceResponse{}, nil
}

// serviceClient is a client whose WorkflowService is svc.
type serviceClient struct {
	client.Client
	svc workflowservice.WorkflowServiceClient
}

func (c serviceClient) WorkflowService() workflowservice.WorkflowServiceClient { return c.svc }

func TestReadyzIsCachedAndChecksTheNamespace(t *testing.T) {
	t.Parallel()
	for _, missing := range []bool{false, true} {
		t.Run(fmt.Sprint("namespace missing=", missing), func(t *testing.T) {
			t.Parallel()
			svc := &countingService{missing: missing}
			var clock atomic.Int64
			clock.Store(time.Now().UnixNano())
			h := unitHarness(t, func(o *Options) {
				o.Temporal = serviceClient{Client: o.Temporal, svc: svc}
				o.Now = func() time.Time { return time.Unix(0, clock.Load()) }
			})
			want := http.StatusOK
			if missing {
				want = http.StatusServiceUnavailable
			}
			for range 20 {
				if r := h.get("/readyz", ""); r.status != want {
					t.Fatalf("got %d %s, want %d", r.status, r.body, want)
				} else if missing && r.errorCode(t) != codeNotReady {
					t.Fatalf("code %s, want %s", r.errorCode(t), codeNotReady)
				}
			}
			if n := svc.calls.Load(); n != 1 {
				t.Errorf("20 readiness checks within a second asked Temporal %d times, want once", n)
			}
			clock.Add(int64(2 * readyCacheTTL))
			h.get("/readyz", "")
			if n := svc.calls.Load(); n != 2 {
				t.Errorf("after the cache expired Temporal was asked %d times in all, want 2", n)
			}
		})
	}
}

func TestRequestsAreLoggedAtInfo(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := unitHarness(t, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	h.get("/healthz", "")
	h.send(req{method: "BREW", path: "/pot"})
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("request lines %v, want one per request", lines)
	}
	for i, want := range []struct{ method, route string }{{"GET", "GET /healthz"}, {"other", "unmatched"}} {
		l := lines[i]
		if l["level"] != "INFO" || l["method"] != want.method || l["route"] != want.route {
			t.Errorf("line %d: %v, want INFO %s %s", i, l, want.method, want.route)
		}
		took, ok := l["took"].(string)
		if d, err := time.ParseDuration(took); !ok || err != nil || d <= 0 {
			t.Errorf("line %d: took %v, want a duration like 97.3ms", i, l["took"])
		}
	}
}

func TestKeyBinder(t *testing.T) {
	t.Parallel()
	now := time.Now()
	b := newKeyBinder(func() time.Time { return now })
	first, err := b.reserve("acme", "k1", "body-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.reserve("acme", "k1", "body-b"); err == nil || asAPIError(err).code != codeIdempotencyConflict {
		t.Fatalf("same key, other body while in flight: %v, want idempotency_conflict", err)
	}
	first.done("sleepy/acme/k-1", "run-1")
	if _, err := b.reserve("acme", "k1", "body-a"); err != nil {
		t.Errorf("retry of the same body: %v", err)
	}
	err = func() error { _, err := b.reserve("acme", "k1", "body-b"); return err }()
	if err == nil || !strings.Contains(fmt.Sprint(asAPIError(err).details), "sleepy/acme/k-1") {
		t.Errorf("conflict %v does not name the key's workflow", err)
	}
	if _, err := b.reserve("globex", "k1", "body-b"); err != nil {
		t.Errorf("another tenant's key: %v", err)
	}
	// A key whose start failed is free again; a retry's undo does not
	// free the original binding.
	failed, _ := b.reserve("acme", "k2", "body-a")
	failed.undo()
	if _, err := b.reserve("acme", "k2", "body-b"); err != nil {
		t.Errorf("key whose first start failed: %v", err)
	}
	retry, _ := b.reserve("acme", "k1", "body-a")
	retry.undo()
	if _, err := b.reserve("acme", "k1", "body-b"); err == nil {
		t.Error("a retry's undo freed the key bound by the first request")
	}
	// Bindings expire after the window.
	now = now.Add(keyWindow + time.Minute)
	if _, err := b.reserve("acme", "k1", "body-b"); err != nil {
		t.Errorf("key after the window: %v", err)
	}
}
