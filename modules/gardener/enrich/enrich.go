// Package enrich is the gardener's enricher framework: the Product view an
// enricher reads, the Output it writes fields to, the registry of enrichers
// by name and version, and the Pipeline that runs the configured ones in
// order over a batch.
//
// Enrichers compute; they never write the database themselves, except
// through the optional Finisher hook, which runs one idempotent set-based
// statement per run. An enricher must be deterministic for a given product,
// configuration and Run (no clocks: use Run.Now), so that a rerun over
// unchanged input yields identical values and therefore writes nothing.
package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"contextworker/internal/prodfields"
)

// Product is what an enricher sees of one product: the supplier's data,
// which it must not change, and the values already stored for it.
type Product struct {
	SupplierCode string
	SKU          string
	Name         string
	Description  string
	Brand        string
	GTIN         string
	Price        float64
	Currency     string
	// Stock is nil when the supplier does not report it.
	Stock        *int64
	Availability string
	CategoryPath []string
	ImageURLs    []string
	Attributes   map[string]any
	ContentHash  string
	LastSeen     time.Time
	// Changed is true when the supplier data changed since the last run
	// (or the run is full): every enricher runs. Otherwise only stale
	// enrichers (whose version changed) run on the product.
	Changed bool
	// Unchanged are columns known not to have changed in a changed
	// product (a logged run knows which changed): an enricher none of
	// whose inputs changed does not run on it, and what it stored stays.
	// Zero, as in every other run: none known, every enricher runs.
	Unchanged prodfields.Set
	// Activated is true when the product became active (was inserted or
	// reactivated) since the last run, or may have (when that is not
	// recorded), or the run is full. A changed product that is not
	// activated was active, and in the catalogue, before the run's window.
	Activated bool
	// Stored holds the product's enrichments as stored before this run.
	Stored map[string]json.RawMessage

	results []Result
}

// Result is one field an enricher produced for a product in this run.
type Result struct {
	Field    string
	Value    json.RawMessage
	Enricher string
	Version  string
}

// reads reports whether an enricher reading the columns in may see a
// change in p: p changed in one of them, or which columns changed is not
// known (an enricher that reads none of them runs then too).
func (p *Product) reads(in prodfields.Set) bool {
	return p.Unchanged == 0 || in&^p.Unchanged != 0
}

// Results returns the fields produced for p in this run, in production order.
func (p *Product) Results() []Result { return p.results }

// Value returns the value of field as produced earlier in this run by an
// enricher that ran before the caller, or else as stored, or nil. Later
// enrichers build on earlier ones this way (duplicates reads brand).
func (p *Product) Value(field string) json.RawMessage {
	for i := len(p.results) - 1; i >= 0; i-- {
		if p.results[i].Field == field {
			return p.results[i].Value
		}
	}
	return p.Stored[field]
}

// Run says which run an enricher works for.
type Run struct {
	ID       string
	TenantID string
	// SupplierCode limits the run to one supplier; "" means all.
	SupplierCode string
	// Now is the run's fixed reference time (its watermark), never the
	// clock, so that results are reproducible within a run.
	Now time.Time
	// Sparse: the run reads only the products changed since its window's
	// start, and its set-based passes get Finish.Since. An enricher may
	// then mark (Output.Mark) what its pass will need to look at.
	Sparse bool
}

// Enricher computes fields for a batch of products.
type Enricher interface {
	// Enrich writes the fields it derives for each product of batch to out.
	// A field it does not write for a product is removed from storage if
	// it was stored before: the set written is the complete result.
	Enrich(ctx context.Context, run Run, batch []*Product, out *Output) error
}

// InputDeclarer is implemented by enrichers that say which product columns
// their Enrich reads, besides the SKU, the supplier, Activated (a product
// that became active counts as changed in every column) and what is
// stored: an incremental run skips the products none of whose declared
// columns changed, as it skips unchanged ones. An enricher that does not
// declare them reads every column, and one that reads LastSeen or
// ContentHash (which change with any column) must not declare them. What
// Enrich writes for a product must depend on nothing else of it
// (TestInputsAreAllThatIsRead checks the built-in ones), and a version
// that reads more must declare more. A product skipped is not retried
// either: an enricher that gave up on it (llm) tries again when one of its
// columns changes, or in a full run.
type InputDeclarer interface {
	Inputs() prodfields.Set
}

// InputsOf returns the product columns e reads: all of them unless it
// declares which.
func InputsOf(e Enricher) prodfields.Set {
	if d, ok := e.(InputDeclarer); ok {
		return d.Inputs()
	}
	return prodfields.All
}

// DB is what a Finisher may use: a transaction or a pool.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Finish describes the enricher a Finisher runs as, and how much of the
// catalogue may have changed since the tenant's last pass.
type Finish struct {
	Run      Run
	Enricher string
	Version  string
	// Since, when set, says that the tenant's products changed since its
	// last complete pass are those whose last_seen is after Since, and
	// those no longer active: a pass may confine itself to what these can
	// affect. nil: a pass over the whole catalogue.
	Since *time.Time
}

// Finisher is implemented by enrichers that need a set-based pass over the
// scope's whole catalogue after every batch is written: grouping products
// across suppliers, flags relative to a group. The pass must be idempotent
// and write only values that differ (IS DISTINCT FROM), so a rerun over an
// unchanged catalogue writes nothing.
type Finisher interface {
	// Finish runs the pass and returns the number of rows it wrote.
	Finish(ctx context.Context, db DB, f Finish) (int64, error)
	// FinishFields lists the fields the pass owns. Batches never remove
	// them, although the enricher does not write them per product.
	FinishFields() []string
}

// Fingerprinter is implemented by enrichers whose behaviour depends on
// more than their YAML configuration (a taxonomy file, say). The
// fingerprint becomes part of the effective version, so a change re-enriches.
type Fingerprinter interface {
	Fingerprint() string
}

// Output collects what one enricher produces for one batch.
type Output struct {
	enricher, version string
	tallies           map[Tally]int64
	marks             *[]Tally
	err               error
	// arena holds the batch's encoded values, many to an allocation; a
	// value is a slice of it, capped so that nothing appends into the
	// next one.
	arena []byte
	// scratch is where Set encodes a value before it is kept.
	scratch []byte
}

// arenaChunk is the size of the blocks values are kept in.
const arenaChunk = 32 << 10

// Tally is a counter key: a named thing an enricher noticed, such as an
// unmapped category, reported at the end of the run.
type Tally struct {
	Name string
	Key  string
}

// Set records value (marshalled as JSON) as field of p. Strings and
// booleans are encoded without reflection, as json.Marshal encodes them.
func (o *Output) Set(p *Product, field string, value any) {
	switch v := value.(type) {
	case string:
		o.scratch = AppendString(o.scratch[:0], v)
	case bool:
		o.scratch = AppendBool(o.scratch[:0], v)
	default:
		b, err := json.Marshal(value)
		if err != nil {
			if o.err == nil {
				o.err = fmt.Errorf("%s: field %s of %s/%s: %w", o.enricher, field, p.SupplierCode, p.SKU, err)
			}
			return
		}
		o.scratch = append(o.scratch[:0], b...)
	}
	o.SetJSON(p, field, o.scratch)
}

// SetJSON records value, field's value already encoded, as field of p:
// for enrichers that encode their values themselves (see AppendString). It
// must be exactly what json.Marshal makes of the value: stored values are
// compared byte for byte, and another spelling rewrites them all. value is
// copied; the caller may reuse it.
func (o *Output) SetJSON(p *Product, field string, value []byte) {
	if len(value) > cap(o.arena)-len(o.arena) {
		o.arena = make([]byte, 0, max(arenaChunk, len(value)))
	}
	start := len(o.arena)
	o.arena = append(o.arena, value...)
	p.results = append(p.results, Result{Field: field, Value: o.arena[start:len(o.arena):len(o.arena)], Enricher: o.enricher, Version: o.version})
}

// Count adds one to the tally (name, key).
func (o *Output) Count(name, key string) { o.tallies[Tally{name, key}]++ }

// Mark records (name, key) for the run's set-based pass, which reads the
// run's marks from gardener_marks. Unlike a tally it is not counted: the
// same mark may be recorded more than once, and it costs an append, no
// upsert.
func (o *Output) Mark(name, key string) { *o.marks = append(*o.marks, Tally{name, key}) }
