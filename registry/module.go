package registry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
)

// Module is one plugin of the platform.
//
// Lifecycle: the module value is created by its package's init function and
// must have no side effects until Register. The worker then decodes the
// module's section of temporal.yaml into NewConfig(), calls Validate on it
// when the config implements Validator, opens what Needs asks for, and calls
// Register once per worker process. Register may keep the dependencies it is
// given; Close (when implemented, see Closer) releases them at shutdown.
type Module interface {
	// Name is the module's stable name, as used by `worker --modules`.
	Name() string
	// TaskQueue is the Temporal task queue the module's workers poll.
	TaskQueue() string
	// Workflows lists the workflow types the module registers.
	Workflows() []Workflow
	// Activities lists the activity type names the module registers. It is
	// metadata for listings and for the completeness test in modules/all,
	// which checks it against what Register really registers.
	Activities() []string
	// Needs says which shared resources the module uses.
	Needs() Needs
	// NewConfig returns a pointer to the module's default configuration,
	// into which its temporal.yaml section (modules.<name>) is decoded
	// strictly. It returns nil when the module takes no configuration.
	NewConfig() any
	// Register registers the module's workflows and activities on r under
	// their declared type names, wiring activities to deps.
	Register(ctx context.Context, deps Deps, r worker.Registry) error
}

// Workflow describes one workflow type of a module.
type Workflow struct {
	// Name is the registered workflow type, e.g. "harvest". It is a stable
	// API: renaming the Go function never changes it.
	Name string
	// Description is one line for listings and API documentation.
	Description string
	// Input returns a pointer to a new zero input value. The starter decodes
	// request JSON strictly into it; when it implements Validator, Validate
	// is called too.
	Input func() any
	// ID returns the workflow id for a validated input (from Input), or ""
	// to let the caller choose. Modules that allow one run per key at a time
	// encode that key here, e.g. "harvest/<tenant>/<supplier>".
	ID func(input any) string
	// Tenant returns the tenant that owns a validated input, for search
	// attributes and tenant isolation; "" when the input has no tenant.
	Tenant func(input any) string
	// IDTenant returns the tenant that owns a workflow id of this type and
	// true, or "", false when id is not one of this type's ids. Callers use
	// it to check who may read, signal or cancel a run. nil means the
	// platform convention "<Name>/<tenant>/<key>" (ConventionIDTenant).
	IDTenant func(id string) (tenant string, ok bool)
	// Check validates a decoded, Validate()d input against the module's
	// decoded configuration (what NewConfig returned, filled from
	// temporal.yaml; nil when the module takes none), without I/O, so that a
	// run that can only fail is refused before it starts. It reports every
	// problem at once (errors.Join), each as "field: problem".
	Check func(config any, input any) error
	// SearchAttributes returns the Keyword search attributes a run of a
	// validated input carries besides TenantId and Module, which every run
	// carries. Names come from contextworker/internal/searchattr. Search
	// attributes are never encrypted: no sensitive value belongs here.
	SearchAttributes func(input any) map[string]string
	// Signals lists the signals the workflow handles; callers refuse any
	// other name.
	Signals []Signal
	// Queries lists the queries the workflow answers.
	Queries []Query
	// ProgressQuery names the entry of Queries that reports live progress,
	// or "" when there is none.
	ProgressQuery string
	// StartRole is the least role a caller needs to start this type (one
	// of RoleViewer, RoleOperator, RoleAdmin); "" means RoleOperator, what
	// every start takes. Reading, signalling and cancelling are unchanged.
	StartRole string
	// Stamp, when set, writes what the platform knows about the caller
	// into a decoded, validated input before Check and the start: subject is
	// the authenticated caller (a JWT "sub", or "hook:<name>" for a
	// webhook). Inputs that record who asked (an audit's requester) set it
	// here, so that a client can never choose it.
	Stamp func(input any, subject string)
}

// Roles a Workflow's StartRole may name, weakest first; they are the
// starter's token roles.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Signal describes one signal a workflow handles.
type Signal struct {
	// Name is the signal name, a stable API like the workflow type.
	Name string
	// Description is one line for listings and API documentation.
	Description string
	// Payload returns a pointer to a new zero payload value, into which a
	// caller decodes the payload strictly; nil when the signal carries none.
	Payload func() any
	// Stamp, when set, writes what the platform knows about the caller into
	// a decoded, validated payload before it is sent, as Workflow.Stamp does
	// for inputs: subject is the authenticated caller. A payload that
	// records who acted (a reviewer's decision) sets it here, so that a
	// client can never choose it.
	Stamp func(payload any, subject string)
}

// Query describes one query a workflow answers.
type Query struct {
	// Name is the query type, a stable API like the workflow type.
	Name string
	// Description is one line for listings and API documentation.
	Description string
	// Result returns a pointer to a new zero result value; nil when
	// undeclared.
	Result func() any
}

// Signal returns the declared signal called name.
func (w Workflow) Signal(name string) (Signal, bool) {
	for _, s := range w.Signals {
		if s.Name == name {
			return s, true
		}
	}
	return Signal{}, false
}

// SignalNames returns the declared signal names, in declaration order.
func (w Workflow) SignalNames() []string {
	names := make([]string, len(w.Signals))
	for i, s := range w.Signals {
		names[i] = s.Name
	}
	return names
}

// OwnerOfID returns the tenant that owns workflow id if id is one of this
// type's ids: by IDTenant when declared, else by the convention.
func (w Workflow) OwnerOfID(id string) (tenant string, ok bool) {
	if w.IDTenant == nil {
		return ConventionIDTenant(w.Name, id)
	}
	if tenant, ok = w.IDTenant(id); !ok || tenant == "" {
		return "", false
	}
	return tenant, true
}

// ConventionIDTenant reads the platform's id convention,
// "<typeName>/<tenant>/<key>" with a non-empty tenant and key: it returns
// the tenant, or "", false for an id of another shape.
func ConventionIDTenant(typeName, id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, typeName+"/")
	if !ok {
		return "", false
	}
	tenant, key, ok := strings.Cut(rest, "/")
	if !ok || tenant == "" || key == "" {
		return "", false
	}
	return tenant, true
}

// Needs lists the shared resources a module requires from the worker.
type Needs struct {
	// Postgres asks for a pgx pool connected to the configured database.
	Postgres bool
}

// Deps are the resources a module receives at Register time.
type Deps struct {
	// Logger is the process logger, already tagged with the module name.
	Logger *slog.Logger
	// DB is the PostgreSQL pool; nil unless Needs().Postgres.
	DB *pgxpool.Pool
	// Temporal is the connected Temporal client, for modules that start or
	// schedule workflows from activities.
	Temporal client.Client
	// Config is the module's decoded configuration (from NewConfig), or nil.
	Config any
	// UIBaseURL is the Temporal Web UI's base URL, for links in reports.
	UIBaseURL string
	// Namespace is the Temporal namespace the worker runs in.
	Namespace string
	// DataConverter is the Temporal client's data converter (it encrypts
	// when payload encryption is on), for activities that decode payloads
	// themselves, such as a workflow's start event; nil means the SDK's
	// default.
	DataConverter converter.DataConverter
	// Metrics registers the module's own metrics (served on the worker's
	// /metrics, names prefixed contextworker_, label module=<name>); nil
	// when the worker serves no metrics. Keep label sets bounded.
	Metrics prometheus.Registerer
}

// Validator is implemented by configs and workflow inputs that check
// themselves. Validate should report every problem at once (errors.Join),
// naming each field.
type Validator interface {
	Validate() error
}

// Closer is implemented by modules that hold resources after Register.
type Closer interface {
	Close() error
}

// Syncer is implemented by modules that reconcile Temporal state with their
// configuration (for example schedules) when a worker starts and on
// `worker schedules sync`. Sync must be idempotent.
type Syncer interface {
	Sync(ctx context.Context, deps Deps) error
}

// ConfigOf returns deps.Config as the *T that m's NewConfig returns, or an
// error naming the module when the worker passed anything else.
func ConfigOf[T any](m Module, deps Deps) (*T, error) {
	cfg, ok := deps.Config.(*T)
	if !ok || cfg == nil {
		return nil, fmt.Errorf("%s: missing module config (got %T, want %T)", m.Name(), deps.Config, cfg)
	}
	return cfg, nil
}

// Provisioned is ConfigOf plus a check that deps holds what m's Needs
// declares: the first call of a module's Register.
func Provisioned[T any](m Module, deps Deps) (*T, error) {
	cfg, err := ConfigOf[T](m, deps)
	if err != nil {
		return nil, err
	}
	if m.Needs().Postgres && deps.DB == nil {
		return nil, fmt.Errorf("%s: needs PostgreSQL, and the worker opened none", m.Name())
	}
	return cfg, nil
}

// Activity pairs an activity type name with the method that implements it
// on a module's activities value of type A. A module keeps one table of
// them, from which both its Activities list and its registrations come.
type Activity[A any] struct {
	Name   string
	Method func(A) any
}

// ActivityNames lists the names in a module's activity table, for
// Module.Activities.
func ActivityNames[A any](table []Activity[A]) []string {
	names := make([]string, len(table))
	for i, act := range table {
		names[i] = act.Name
	}
	return names
}

// RegisterActivities registers every activity of table on r under its
// name, implemented by a.
func RegisterActivities[A any](r worker.ActivityRegistry, a A, table []Activity[A]) {
	for _, act := range table {
		r.RegisterActivityWithOptions(act.Method(a), activity.RegisterOptions{Name: act.Name})
	}
}
