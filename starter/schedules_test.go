package starter

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/worker"

	"contextworker/registry"
)

// syncModule is a module with schedules: Sync records the deps it got, or
// fails with err.
type syncModule struct {
	name string
	err  error
	mu   *sync.Mutex
	got  *[]registry.Deps
}

func (m syncModule) Name() string                                                 { return m.name }
func (m syncModule) TaskQueue() string                                            { return m.name }
func (syncModule) Workflows() []registry.Workflow                                 { return nil }
func (syncModule) Activities() []string                                           { return nil }
func (syncModule) Needs() registry.Needs                                          { return registry.Needs{} }
func (syncModule) NewConfig() any                                                 { return new(string) }
func (syncModule) Register(context.Context, registry.Deps, worker.Registry) error { return nil }
func (m syncModule) Sync(_ context.Context, deps registry.Deps) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	*m.got = append(*m.got, deps)
	return m.err
}

var _ registry.Syncer = syncModule{}

func TestSyncSchedules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		roles      []string
		failing    bool
		wantStatus int
		wantCode   string
		wantSynced int // Sync calls
	}{
		{"admin syncs every module with schedules", []string{RoleAdmin}, false, http.StatusOK, "", 2},
		{"operator is refused", []string{RoleOperator}, false, http.StatusForbidden, codeForbidden, 0},
		{"viewer is refused", []string{RoleViewer}, false, http.StatusForbidden, codeForbidden, 0},
		{"a failing sync is an internal error", []string{RoleAdmin}, true, http.StatusInternalServerError, codeInternal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []registry.Deps
			var failure error
			if tt.failing {
				failure = errors.New("schedule sched-1: config key modules.a.suppliers[0] is wrong")
			}
			reg := registry.New()
			for _, m := range []registry.Module{
				syncModule{name: "a", err: failure, mu: &mu, got: &got},
				testModule{}, // no schedules: skipped
				syncModule{name: "b", mu: &mu, got: &got},
			} {
				if err := reg.Register(m); err != nil {
					t.Fatal(err)
				}
			}
			h := unitHarness(t, func(o *Options) {
				o.Registry = reg
				o.ModuleConfig = func(m string) any { return "config of " + m }
			})
			r := h.post("/v1/schedules/sync", h.token("acme", tt.roles...), nil)
			if r.status != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantCode != "" {
				if code := r.errorCode(t); code != tt.wantCode {
					t.Errorf("error code %q, want %q", code, tt.wantCode)
				}
				if tt.failing && (contains(r.body, "suppliers") || contains(r.body, "sched-1")) {
					t.Errorf("the sync's cause reached the client: %s", r.body)
				}
			} else {
				var out syncResponse
				r.decode(t, &out)
				if out.Status != "synced" || out.RegisteredCount != 2 || len(out.Modules) != 2 || out.Modules[0] != "a" || out.Modules[1] != "b" {
					t.Errorf("answer %+v", out)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != tt.wantSynced {
				t.Fatalf("%d Sync calls, want %d", len(got), tt.wantSynced)
			}
			for _, d := range got {
				if d.Temporal == nil || d.Logger == nil || d.Namespace == "" || d.Config == nil || d.Config.(string) == "" {
					t.Errorf("deps %+v lack the client, logger, namespace or config", d)
				}
			}
			if len(got) == 2 && (got[0].Config != "config of a" || got[1].Config != "config of b") {
				t.Errorf("configs %v, %v: want each module's own", got[0].Config, got[1].Config)
			}
		})
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
