// Package quality is the quality enricher: it flags products with no image,
// with a price far from the median of their product group, and with stock
// that has stayed at zero for too long. The per-product flags are computed
// in batches; the flags that depend on other products or on elapsed time
// are set by one set-based pass at the end of the run.
package quality

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"contextworker/internal/prodfields"
	"contextworker/modules/gardener/enrich"
)

// Name and Version identify the enricher.
const (
	Name    = "quality"
	Version = "1"

	FieldMissingImage   = "quality.missing_image"    // true
	FieldStockZeroSince = "quality.stock_zero_since" // RFC 3339 time the run first saw stock 0
	FieldPriceOutlier   = "quality.price_outlier"    // {"median": 10.5, "ratio": 4.2}
	FieldStaleStock     = "quality.stale_stock"      // {"since": "…", "days": 30}
)

func init() { enrich.MustRegister(Name, Version, New) }

// Config sets the checks.
type Config struct {
	MissingImage bool `yaml:"missing_image"`
	// OutlierFactor flags a price above median×factor or below
	// median÷factor within its group (same currency); 0 turns it off.
	OutlierFactor float64 `yaml:"outlier_factor"`
	// OutlierMinGroup is the least group size the median is trusted at.
	OutlierMinGroup int `yaml:"outlier_min_group"`
	// ZeroStockDays flags stock at zero for at least this many days; 0
	// turns it off.
	ZeroStockDays int `yaml:"zero_stock_days"`
}

// Enricher computes quality flags.
type Enricher struct{ cfg Config }

var (
	_ enrich.Enricher   = (*Enricher)(nil)
	_ enrich.Finisher   = (*Enricher)(nil)
	_ enrich.Splittable = (*Enricher)(nil)
)

// New is the enrich.Factory of the quality enricher.
func New(decode enrich.Decode, _ enrich.Deps) (enrich.Enricher, error) {
	cfg := Config{MissingImage: true, OutlierFactor: 3, OutlierMinGroup: 3, ZeroStockDays: 30}
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return Build(cfg)
}

// Build validates cfg and returns the enricher.
func Build(cfg Config) (*Enricher, error) {
	var errs []error
	if cfg.OutlierFactor != 0 && cfg.OutlierFactor <= 1 {
		errs = append(errs, fmt.Errorf("outlier_factor: must be 0 (off) or > 1, got %v", cfg.OutlierFactor))
	}
	if cfg.OutlierMinGroup < 2 {
		errs = append(errs, fmt.Errorf("outlier_min_group: must be >= 2, got %d", cfg.OutlierMinGroup))
	}
	if cfg.ZeroStockDays < 0 {
		errs = append(errs, fmt.Errorf("zero_stock_days: must be >= 0, got %d", cfg.ZeroStockDays))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Enricher{cfg: cfg}, nil
}

// Splittable implements enrich.Splittable: each product is enriched alone,
// and the enricher is safe for concurrent use.
func (e *Enricher) Splittable() {}

// Inputs implements enrich.InputDeclarer: the images and the stock. Its
// pass reads prices itself, every run.
func (e *Enricher) Inputs() prodfields.Set { return prodfields.ImageURLs | prodfields.Stock }

// Enrich implements enrich.Enricher.
func (e *Enricher) Enrich(_ context.Context, run enrich.Run, batch []*enrich.Product, out *enrich.Output) error {
	var text, value []byte
	for _, p := range batch {
		if e.cfg.MissingImage && len(p.ImageURLs) == 0 {
			out.SetJSON(p, FieldMissingImage, jsonTrue)
		}
		if e.cfg.ZeroStockDays > 0 {
			if since, ok := ZeroSince(p, run.Now); ok {
				// The time as a string (Format), encoded without the string.
				text = since.UTC().AppendFormat(text[:0], time.RFC3339)
				value = enrich.AppendString(value[:0], unsafe.String(unsafe.SliceData(text), len(text)))
				out.SetJSON(p, FieldStockZeroSince, value)
			}
		}
	}
	return nil
}

var jsonTrue = []byte("true")

// staleSQL selects the products at zero stock since at least $6 days
// before $7 (the run's time), as SyncField's candidates. They are found
// first among the stored dates, and only then looked up among products
// (the fence): a products partition a harvest had just loaded, not yet
// analysed, was planned as a few hundred rows and walked whole, each row
// probing enrichments.
//
// The dates are compared as text when they have the form Enrich writes,
// UTC to the second (RFC 3339, "Z"): in that form the text orders as the
// time (byte-wise: COLLATE "C"). Parsing each as timestamptz took most of
// the pass (a tenth of a million dates at 1M products). Any other form is
// parsed. The limit in that form is computed once (an InitPlan).
//
// The dates are read through enrichments_stock_zero_since (migration
// 0017), which orders them so: the pass reads the dates up to the limit,
// and those of any other form (indexed as the empty string), not every
// date. Reading all of them took about 0.2 s of every run at 1M products,
// however few products changed. The expression must stay the index's, to
// the letter (TestStalePassReadsByDate).
const staleSQL = `WITH lim AS (
		SELECT CASE WHEN t LIKE '____-__-__T__:__:__Z' THEN t END AS limit_text
		FROM to_char(($7::timestamptz - make_interval(days => $6::int)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS t
	), z AS MATERIALIZED (
		SELECT e.supplier_code, e.sku, e.value FROM enrichments e
		WHERE e.tenant_id = $1 AND e.field = '` + FieldStockZeroSince + `' AND $6::int > 0
			AND (CASE WHEN e.value #>> '{}' LIKE '____-__-__T__:__:__Z' THEN e.value #>> '{}' ELSE '' END) COLLATE "C"
				<= coalesce((SELECT limit_text FROM lim), '~')
			AND CASE WHEN e.value #>> '{}' LIKE '____-__-__T__:__:__Z' AND (SELECT limit_text FROM lim) IS NOT NULL
				THEN (e.value #>> '{}') COLLATE "C" <= (SELECT limit_text FROM lim)
				ELSE (e.value #>> '{}')::timestamptz <= $7::timestamptz - make_interval(days => $6::int) END
	)
	SELECT z.supplier_code, z.sku, jsonb_build_object('since', z.value, 'days', $6::int) AS value
	FROM z JOIN products p ON p.tenant_id = $1 AND p.supplier_code = z.supplier_code AND p.sku = z.sku AND p.active`

// ZeroSince says since when p's stock has been zero: the time stored by an
// earlier run, or now when this run is the first to see it. false when the
// stock is not zero (or unknown).
func ZeroSince(p *enrich.Product, now time.Time) (time.Time, bool) {
	if p.Stock == nil || *p.Stock != 0 {
		return time.Time{}, false
	}
	var s string
	if raw := p.Stored[FieldStockZeroSince]; raw != nil && json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, true
		}
	}
	return now, true
}

// FinishFields implements enrich.Finisher.
func (e *Enricher) FinishFields() []string { return []string{FieldPriceOutlier, FieldStaleStock} }

// Finish implements enrich.Finisher: price outliers within product groups
// (as the duplicates enricher's pass left them, so list duplicates first),
// and stock at zero since longer than the limit.
func (e *Enricher) Finish(ctx context.Context, db enrich.DB, f enrich.Finish) (int64, error) {
	// A turned-off check selects nothing, which removes its old flags.
	// Only groups of at least outlier_min_group members can hold an
	// outlier: the others' products are not looked up (a group counts its
	// active members of a currency, never more than its members). A
	// tenant whose groups are pairs of two suppliers' offers looked up
	// 158k products for none, 2.4 s of every run.
	outliers := `WITH big AS MATERIALIZED (
			SELECT group_id FROM product_group_members WHERE tenant_id = $1 AND $6::float8 > 0
			GROUP BY group_id HAVING count(*) >= $7
		), mp AS (
			SELECT m.group_id, p.currency, p.supplier_code, p.sku, p.price
			FROM big JOIN product_group_members m ON m.tenant_id = $1 AND m.group_id = big.group_id
				JOIN products p ON p.tenant_id = m.tenant_id AND p.supplier_code = m.supplier_code AND p.sku = m.sku AND p.active
		), med AS (
			SELECT group_id, currency, (percentile_cont(0.5) WITHIN GROUP (ORDER BY price))::numeric AS median, count(*) AS n
			FROM mp GROUP BY group_id, currency
		)
		SELECT mp.supplier_code, mp.sku, jsonb_build_object('median', round(med.median, 4), 'ratio', round(mp.price / med.median, 2)) AS value
		FROM mp JOIN med USING (group_id, currency)
		WHERE med.n >= $7 AND med.median > 0 AND (mp.price > med.median * $6::numeric OR mp.price < med.median / $6::numeric)`
	n1, err := enrich.SyncField(ctx, db, f, FieldPriceOutlier, outliers, e.cfg.OutlierFactor, e.cfg.OutlierMinGroup)
	if err != nil {
		return n1, err
	}
	n2, err := enrich.SyncField(ctx, db, f, FieldStaleStock, staleSQL, e.cfg.ZeroStockDays, f.Run.Now)
	return n1 + n2, err
}
