package all_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	_ "contextworker/modules/all"
	"contextworker/registry"
)

// recorder is a worker.Registry that records what a module registers. It
// embeds the interface so that a registration this test does not expect
// (dynamic workflows, Nexus services) panics and gets noticed.
type recorder struct {
	worker.Registry
	t          *testing.T
	workflows  []string
	activities []string
}

func (r *recorder) RegisterWorkflow(w any) {
	r.t.Errorf("RegisterWorkflow(%s): register workflows with RegisterWorkflowWithOptions and a stable Name", funcName(w))
}

func (r *recorder) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	if o.Name == "" {
		r.t.Errorf("workflow %s registered without a Name", funcName(w))
	}
	r.workflows = append(r.workflows, o.Name)
}

func (r *recorder) RegisterActivity(a any) {
	r.t.Errorf("RegisterActivity(%s): register activities with RegisterActivityWithOptions and a stable Name", funcName(a))
}

func (r *recorder) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	if o.Name == "" {
		r.t.Errorf("activity %s registered without a Name", funcName(a))
	}
	r.activities = append(r.activities, o.Name)
}

func funcName(f any) string {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Func {
		return v.Type().String()
	}
	return runtime.FuncForPC(v.Pointer()).Name()
}

// TestRegistryComplete registers every built-in module on a recording
// worker and checks that what each registers is exactly what it declares:
// the starter, the worker's listings and the docs read the declarations,
// so an undeclared activity or workflow is one they cannot see.
func TestRegistryComplete(t *testing.T) {
	mods := registry.Default().Modules()
	if len(mods) == 0 {
		t.Fatal("no modules registered: modules/all imports none")
	}
	for _, m := range mods {
		t.Run(m.Name(), func(t *testing.T) {
			rec := &recorder{t: t}
			if err := m.Register(context.Background(), testDeps(t, m), rec); err != nil {
				t.Fatalf("Register with the default config: %v", err)
			}
			var declared []string
			for _, wf := range m.Workflows() {
				declared = append(declared, wf.Name)
			}
			problems := mismatches(m.Name(), "workflow", declared, rec.workflows, "its Workflows()")
			problems = append(problems, mismatches(m.Name(), "activity", m.Activities(), rec.activities, "its activities table")...)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// testDeps are what Register needs to wire a module with its default
// config, without servers: a pool that never connects, no Temporal client.
func testDeps(t *testing.T, m registry.Module) registry.Deps {
	t.Helper()
	deps := registry.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Config: m.NewConfig(), Namespace: "default"}
	if m.Needs().Postgres {
		pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		deps.DB = pool
	}
	if c, ok := m.(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	return deps
}

// mismatches lists each name registered but not declared, declared but
// not registered, or registered twice, with the fix.
func mismatches(module, kind string, declared, registered []string, where string) []string {
	var out []string
	for i, name := range registered {
		switch {
		case slices.Contains(registered[:i], name):
			out = append(out, fmt.Sprintf("module %s registers %s %q twice", module, kind, name))
		case !slices.Contains(declared, name):
			out = append(out, fmt.Sprintf("module %s registers %s %q but does not declare it: add it to %s in modules/%s", module, kind, name, where, module))
		}
	}
	for _, name := range declared {
		if !slices.Contains(registered, name) {
			out = append(out, fmt.Sprintf("module %s declares %s %q but never registers it: register it in Register (modules/%s) or drop the declaration", module, kind, name, module))
		}
	}
	return out
}

// TestMismatchesFound proves the check finds the mismatches it exists for.
func TestMismatchesFound(t *testing.T) {
	tests := []struct {
		name                 string
		declared, registered []string
		want                 string
	}{
		{"undeclared", []string{"a"}, []string{"a", "b"}, `registers activity "b" but does not declare it`},
		{"unregistered", []string{"a", "b"}, []string{"a"}, `declares activity "b" but never registers it`},
		{"twice", []string{"a"}, []string{"a", "a"}, `registers activity "a" twice`},
		{"equal", []string{"a", "b"}, []string{"b", "a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(mismatches("m", "activity", tt.declared, tt.registered, "x"), "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("mismatches(%v, %v) = %q, want %q", tt.declared, tt.registered, got, tt.want)
			}
		})
	}
}
