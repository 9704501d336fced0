package enrich

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"contextworker/internal/secret"
)

// ErrUnknown is returned (wrapped) for an enricher name nobody registered.
var ErrUnknown = errors.New("unknown enricher")

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Decode decodes an enricher's configuration section strictly into v, a
// pointer to the enricher's config type holding its defaults.
type Decode func(v any) error

// Deps are the resources an enricher may use. Factories must not do I/O
// beyond reading files named in their configuration.
type Deps struct {
	Logger *slog.Logger
	// HTTP is the client for enrichers that call services (llm).
	HTTP *http.Client
	// Env resolves secret references; nil means the process environment.
	Env secret.Lookup
	// Cache stores answers by key for enrichers that call services.
	Cache Cache
}

// Factory builds an enricher: it decodes its configuration with decode,
// validates it, and returns the enricher.
type Factory func(decode Decode, deps Deps) (Enricher, error)

// Registration is one registered enricher.
type Registration struct {
	Name string
	// Version is the version of the enricher's code. Bump it whenever a
	// change would alter results: a rerun then re-enriches what it made.
	Version string
	Factory Factory
}

// Registry holds enrichers by name. It is a value, so tests can build
// their own; Default is the one init functions fill.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Registration
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: make(map[string]Registration)} }

var defaultRegistry = NewRegistry()

// Default returns the process-wide registry of built-in enrichers.
func Default() *Registry { return defaultRegistry }

// MustRegister registers on the default registry, panicking on error.
// Call it from an enricher package's init function.
func MustRegister(name, version string, f Factory) {
	if err := defaultRegistry.Register(name, version, f); err != nil {
		panic(err)
	}
}

// Register adds an enricher. An invalid or duplicate name is an error: a
// registry never silently replaces an enricher.
func (r *Registry) Register(name, version string, f Factory) error {
	switch {
	case !namePattern.MatchString(name):
		return fmt.Errorf("enrich: register: invalid name %q (want %s)", name, namePattern)
	case version == "" || strings.ContainsAny(version, " +"):
		return fmt.Errorf("enrich: register %q: version %q must be non-empty, without spaces or '+'", name, version)
	case f == nil:
		return fmt.Errorf("enrich: register %q: nil factory", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		return fmt.Errorf("enrich: register: enricher %q is already registered", name)
	}
	r.m[name] = Registration{Name: name, Version: version, Factory: f}
	return nil
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the enricher called name.
func (r *Registry) Lookup(name string) (Registration, error) {
	r.mu.RLock()
	reg, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		return Registration{}, fmt.Errorf("%w %q (known: %s; forgotten import of contextworker/modules/gardener/enrich/all?)",
			ErrUnknown, name, strings.Join(r.Names(), ", "))
	}
	return reg, nil
}
