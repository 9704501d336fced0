package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
)

type fakeModule struct {
	name, queue string
	workflows   []Workflow
	activities  []string
}

func (f fakeModule) Name() string          { return f.name }
func (f fakeModule) TaskQueue() string     { return f.queue }
func (f fakeModule) Workflows() []Workflow { return f.workflows }
func (f fakeModule) Activities() []string  { return f.activities }
func (f fakeModule) Needs() Needs          { return Needs{} }
func (f fakeModule) NewConfig() any        { return nil }
func (f fakeModule) Register(context.Context, Deps, worker.Registry) error {
	return nil
}

func newInput() any { return &struct{}{} }

func mod(name string, wfs ...string) fakeModule {
	m := fakeModule{name: name, queue: name}
	for _, wf := range wfs {
		m.workflows = append(m.workflows, Workflow{Name: wf, Input: newInput})
		m.activities = append(m.activities, wf+".activity")
	}
	return m
}

func withWorkflow(wf Workflow) fakeModule {
	return fakeModule{name: "x", queue: "x", workflows: []Workflow{wf}}
}

func TestOwnerOfID(t *testing.T) {
	conv := Workflow{Name: "harvest"}
	custom := Workflow{Name: "gardener", IDTenant: func(id string) (string, bool) {
		t, ok := strings.CutPrefix(id, "gardener/")
		return t, ok && t != "" && !strings.Contains(t, "/")
	}}
	tests := []struct {
		name   string
		wf     Workflow
		id     string
		tenant string
		ok     bool
	}{
		{"convention", conv, "harvest/acme/demo", "acme", true},
		{"convention, key with slashes", conv, "harvest/acme/a/b", "acme", true},
		{"convention, no key", conv, "harvest/acme", "", false},
		{"convention, empty key", conv, "harvest/acme/", "", false},
		{"convention, empty tenant", conv, "harvest//demo", "", false},
		{"convention, other type", conv, "harvester/acme/demo", "", false},
		{"convention, prefix without slash", conv, "harvestacme/x", "", false},
		{"declared", custom, "gardener/acme", "acme", true},
		{"declared, refuses more segments", custom, "gardener/acme/x", "", false},
		{"declared, other type", custom, "harvest/acme/x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant, ok := tt.wf.OwnerOfID(tt.id)
			if tenant != tt.tenant || ok != tt.ok {
				t.Errorf("OwnerOfID(%q) = %q, %v; want %q, %v", tt.id, tenant, ok, tt.tenant, tt.ok)
			}
		})
	}
}

func TestSignalLookup(t *testing.T) {
	wf := Workflow{Name: "a", Signals: []Signal{{Name: "approve"}, {Name: "reject"}}}
	if _, ok := wf.Signal("approve"); !ok {
		t.Error(`Signal("approve") not found`)
	}
	if _, ok := wf.Signal("nope"); ok {
		t.Error(`Signal("nope") found`)
	}
	if got := strings.Join(wf.SignalNames(), ","); got != "approve,reject" {
		t.Errorf("SignalNames = %s", got)
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name    string
		first   []Module
		add     Module
		wantErr string
	}{
		{name: "ok", add: mod("harvest", "harvest")},
		{name: "duplicate module", first: []Module{mod("harvest", "harvest")}, add: mod("harvest", "other"), wantErr: `module "harvest" is already registered`},
		{name: "duplicate workflow across modules", first: []Module{mod("harvest", "harvest")}, add: mod("gardener", "harvest"), wantErr: `workflow type "harvest" is already declared by module "harvest"`},
		{name: "empty name", add: mod(""), wantErr: `invalid module name ""`},
		{name: "upper-case name", add: mod("Harvest"), wantErr: `invalid module name "Harvest"`},
		{name: "empty task queue", add: fakeModule{name: "x"}, wantErr: `invalid task queue ""`},
		{name: "workflow twice", add: mod("x", "a", "a"), wantErr: `workflow type "a" declared twice`},
		{name: "workflow without input", add: fakeModule{name: "x", queue: "x", workflows: []Workflow{{Name: "a"}}}, wantErr: `workflow "a" declares no input type`},
		{name: "nil", add: nil, wantErr: "nil module"},
		{name: "signal twice", add: withWorkflow(Workflow{Name: "a", Input: newInput, Signals: []Signal{{Name: "go"}, {Name: "go"}}}), wantErr: `signal "go" is invalid or declared twice`},
		{name: "signal name with a slash", add: withWorkflow(Workflow{Name: "a", Input: newInput, Signals: []Signal{{Name: "a/b"}}}), wantErr: `signal "a/b" is invalid`},
		{name: "query twice", add: withWorkflow(Workflow{Name: "a", Input: newInput, Queries: []Query{{Name: "p"}, {Name: "p"}}}), wantErr: `query "p" is invalid or declared twice`},
		{name: "progress query undeclared", add: withWorkflow(Workflow{Name: "a", Input: newInput, ProgressQuery: "progress"}), wantErr: `progress query "progress" is not among its queries`},
		{name: "start role unknown", add: withWorkflow(Workflow{Name: "a", Input: newInput, StartRole: "root"}), wantErr: `start role "root" is not one of viewer, operator, admin`},
		{name: "start role admin", add: withWorkflow(Workflow{Name: "a", Input: newInput, StartRole: RoleAdmin})},
		{name: "messages ok", add: withWorkflow(Workflow{Name: "a", Input: newInput, Signals: []Signal{{Name: "approve"}}, Queries: []Query{{Name: "progress"}}, ProgressQuery: "progress"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for _, m := range tt.first {
				if err := r.Register(m); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			err := r.Register(tt.add)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Register error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	r := New()
	for _, m := range []Module{mod("harvest", "harvest"), mod("gardener", "gardener"), mod("ingest", "ingest")} {
		if err := r.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		in      []string
		want    string
		wantErr string
	}{
		{name: "none means all, sorted", in: nil, want: "gardener,harvest,ingest"},
		{name: "stable order", in: []string{"ingest", "gardener"}, want: "gardener,ingest"},
		{name: "duplicates collapse", in: []string{"harvest", "harvest"}, want: "harvest"},
		{name: "unknown lists known", in: []string{"nope"}, wantErr: `unknown module "nope" (known: gardener, harvest, ingest)`},
		{name: "every unknown reported", in: []string{"nope", "harvest", "zap"}, wantErr: `unknown module "zap"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mods, err := r.Select(tt.in...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrUnknownModule) {
					t.Fatalf("Select error = %v, want %q wrapping ErrUnknownModule", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			var names []string
			for _, m := range mods {
				names = append(names, m.Name())
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Fatalf("Select = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWorkflowLookupAndCopies(t *testing.T) {
	r := New()
	if err := r.Register(mod("harvest", "harvest")); err != nil {
		t.Fatal(err)
	}
	m, wf, ok := r.Workflow("harvest")
	if !ok || m.Name() != "harvest" || wf.Name != "harvest" {
		t.Fatalf("Workflow(harvest) = %v %v %v", m, wf, ok)
	}
	if _, _, ok := r.Workflow("nope"); ok {
		t.Fatal("Workflow(nope) found something")
	}
	mods := r.Modules()
	mods[0] = nil
	if r.Modules()[0] == nil {
		t.Fatal("Modules returned the registry's own storage")
	}
}

func TestMustRegisterPanicsOnDuplicate(t *testing.T) {
	saved := defaultRegistry
	t.Cleanup(func() { defaultRegistry = saved })
	defaultRegistry = New()
	MustRegister(mod("x", "x"))
	defer func() {
		if recover() == nil {
			t.Fatal("MustRegister of a duplicate did not panic")
		}
	}()
	MustRegister(mod("x", "y"))
}

func TestTaskQueues(t *testing.T) {
	a, b := mod("a"), mod("b")
	b.queue = "a"
	if got := TaskQueues([]Module{a, b, mod("c")}); strings.Join(got, ",") != "a,c" {
		t.Fatalf("TaskQueues = %v", got)
	}
}

type needsDB struct{ fakeModule }

func (needsDB) Needs() Needs { return Needs{Postgres: true} }

func TestProvisioned(t *testing.T) {
	type cfg struct{ N int }
	m := needsDB{fakeModule{name: "x", queue: "x"}}
	if _, err := ConfigOf[cfg](m, Deps{Config: &struct{}{}}); err == nil || !strings.Contains(err.Error(), "x: missing module config") {
		t.Errorf("ConfigOf with another config type: %v", err)
	}
	if _, err := ConfigOf[cfg](m, Deps{}); err == nil {
		t.Error("ConfigOf without a config: no error")
	}
	if got, err := ConfigOf[cfg](m, Deps{Config: &cfg{N: 3}}); err != nil || got.N != 3 {
		t.Errorf("ConfigOf = %v, %v", got, err)
	}
	if _, err := Provisioned[cfg](m, Deps{Config: &cfg{}}); err == nil || !strings.Contains(err.Error(), "x: needs PostgreSQL") {
		t.Errorf("Provisioned without the pool a module needs: %v", err)
	}
}
