// Package registry is the catalogue of contextworker modules.
//
// A module (harvest, gardener, …) contributes Temporal workflows and
// activities under stable, registered type names, plus the task queue they
// run on. Modules register themselves from their package's init function, the
// way database/sql drivers do, and a binary links the built-in set with one
// blank import of contextworker/modules/all.
//
// The registry is a value: Default holds what init functions registered, and
// New gives an empty one for tests. It never imports other contextworker
// packages, and it performs no I/O.
package registry

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ErrUnknownModule is returned (wrapped) when a module name is not registered.
var ErrUnknownModule = errors.New("unknown module")

// namePattern is what module names, task queues and type names look like.
// They appear in CLI flags, workflow ids and the Web UI, so keep them plain.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]*$`)

// messagePattern is what signal and query names look like: they appear in
// URLs and CLI flags.
var messagePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// Registry holds modules by name. The zero value is not usable; use New.
type Registry struct {
	mu      sync.RWMutex
	modules map[string]Module
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{modules: make(map[string]Module)}
}

var defaultRegistry = New()

// Default returns the process-wide registry that init functions fill.
func Default() *Registry { return defaultRegistry }

// MustRegister adds m to the default registry and panics on any error. Call
// it from a module package's init function.
func MustRegister(m Module) {
	if err := defaultRegistry.Register(m); err != nil {
		panic(err)
	}
}

// Register validates m and adds it. A duplicate module name, a duplicate
// workflow or activity type name, or an invalid declaration is an error, so a
// registry can never silently overwrite a module.
func (r *Registry) Register(m Module) error {
	if m == nil {
		return errors.New("registry: register: nil module")
	}
	if err := validate(m); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	name := m.Name()
	if _, dup := r.modules[name]; dup {
		return fmt.Errorf("registry: register: module %q is already registered", name)
	}
	for _, other := range r.modules {
		for _, wf := range m.Workflows() {
			if slices.ContainsFunc(other.Workflows(), func(o Workflow) bool { return o.Name == wf.Name }) {
				return fmt.Errorf("registry: register %q: workflow type %q is already declared by module %q", name, wf.Name, other.Name())
			}
		}
		for _, act := range m.Activities() {
			if slices.Contains(other.Activities(), act) {
				return fmt.Errorf("registry: register %q: activity type %q is already declared by module %q", name, act, other.Name())
			}
		}
	}
	r.modules[name] = m
	return nil
}

func validate(m Module) error {
	name := m.Name()
	if !namePattern.MatchString(name) {
		return fmt.Errorf("registry: register: invalid module name %q (want %s)", name, namePattern)
	}
	var errs []error
	if !namePattern.MatchString(m.TaskQueue()) {
		errs = append(errs, fmt.Errorf("invalid task queue %q", m.TaskQueue()))
	}
	seen := make(map[string]bool)
	for _, wf := range m.Workflows() {
		switch {
		case !namePattern.MatchString(wf.Name):
			errs = append(errs, fmt.Errorf("invalid workflow type %q", wf.Name))
		case seen[wf.Name]:
			errs = append(errs, fmt.Errorf("workflow type %q declared twice", wf.Name))
		case wf.Input == nil:
			errs = append(errs, fmt.Errorf("workflow %q declares no input type", wf.Name))
		}
		seen[wf.Name] = true
		errs = append(errs, validateMessages(wf)...)
	}
	seen = make(map[string]bool)
	for _, act := range m.Activities() {
		if act == "" || seen[act] {
			errs = append(errs, fmt.Errorf("activity type %q is empty or declared twice", act))
		}
		seen[act] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("registry: register %q: %w", name, err)
	}
	return nil
}

// validateMessages checks a workflow's signal and query declarations.
func validateMessages(wf Workflow) []error {
	var errs []error
	seen := make(map[string]bool)
	for _, sig := range wf.Signals {
		if !messagePattern.MatchString(sig.Name) || seen[sig.Name] {
			errs = append(errs, fmt.Errorf("workflow %q: signal %q is invalid or declared twice (want %s)", wf.Name, sig.Name, messagePattern))
		}
		seen[sig.Name] = true
	}
	seen = make(map[string]bool)
	for _, q := range wf.Queries {
		if !messagePattern.MatchString(q.Name) || seen[q.Name] {
			errs = append(errs, fmt.Errorf("workflow %q: query %q is invalid or declared twice (want %s)", wf.Name, q.Name, messagePattern))
		}
		seen[q.Name] = true
	}
	if wf.ProgressQuery != "" && !seen[wf.ProgressQuery] {
		errs = append(errs, fmt.Errorf("workflow %q: progress query %q is not among its queries", wf.Name, wf.ProgressQuery))
	}
	switch wf.StartRole {
	case "", RoleViewer, RoleOperator, RoleAdmin:
	default:
		errs = append(errs, fmt.Errorf("workflow %q: start role %q is not one of %s, %s, %s", wf.Name, wf.StartRole, RoleViewer, RoleOperator, RoleAdmin))
	}
	return errs
}

// Names returns the registered module names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.modules))
	for n := range r.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Modules returns every registered module, sorted by name. The slice is a
// copy: changing it does not change the registry.
func (r *Registry) Modules() []Module {
	mods, _ := r.Select()
	return mods
}

// Lookup returns the module called name.
func (r *Registry) Lookup(name string) (Module, error) {
	r.mu.RLock()
	m, ok := r.modules[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownModule, name, strings.Join(r.Names(), ", "))
	}
	return m, nil
}

// Select returns the named modules sorted by name, each once. No names means
// every module. An unknown name is an error that lists the known ones; all
// unknown names are reported at once.
func (r *Registry) Select(names ...string) ([]Module, error) {
	if len(names) == 0 {
		names = r.Names()
	}
	var (
		out  []Module
		errs []error
		seen = make(map[string]bool)
	)
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		m, err := r.Lookup(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Workflow finds the module that declares the workflow type name.
func (r *Registry) Workflow(typeName string) (Module, Workflow, bool) {
	for _, m := range r.Modules() {
		for _, wf := range m.Workflows() {
			if wf.Name == typeName {
				return m, wf, true
			}
		}
	}
	return nil, Workflow{}, false
}

// TaskQueues returns the distinct task queues of mods, sorted.
func TaskQueues(mods []Module) []string {
	var qs []string
	for _, m := range mods {
		if !slices.Contains(qs, m.TaskQueue()) {
			qs = append(qs, m.TaskQueue())
		}
	}
	sort.Strings(qs)
	return qs
}
