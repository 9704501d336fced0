package gardener_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/stacktest"
	"contextworker/modules/gardener/enrich/brand"
	"contextworker/modules/gardener/enrich/category"
	"contextworker/modules/gardener/enrich/duplicates"
	"contextworker/modules/gardener/enrich/quality"
)

// TestSparseFieldIndex checks migrations 0011 and 0017: the rare fields
// the set-based passes look up by field are found through
// enrichments_sparse_field, but for the stock-at-zero dates, which have an
// index of their own (enrichments_stock_zero_since), and the dense fields
// every product has are left out of both (indexing them cost a first run
// a third of its writes).
func TestSparseFieldIndex(t *testing.T) {
	s := newStack(t, false)
	tests := []struct {
		field string
		index string // "" for none
	}{
		{brand.Field, ""},
		{duplicates.Field, ""},
		{category.Field, ""},
		{quality.FieldStockZeroSince, "enrichments_stock_zero_since"},
		{quality.FieldPriceOutlier, "enrichments_sparse_field"},
		{quality.FieldStaleStock, "enrichments_sparse_field"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			// Planned without sequential scans, a lookup by field uses the
			// partial index wherever its predicate admits the field.
			plan := stacktest.Plan(t, s.db, `SET LOCAL enable_seqscan = off`, `SELECT supplier_code, sku FROM enrichments
				WHERE tenant_id = 'acme' AND field = '`+tt.field+`'`, pgx.QueryExecModeSimpleProtocol)
			for _, index := range []string{"enrichments_sparse_field", "enrichments_stock_zero_since"} {
				if got, want := strings.Contains(plan, index), index == tt.index; got != want {
					t.Errorf("field %q uses %s = %v, want %v; plan:\n%s", tt.field, index, got, want, plan)
				}
			}
		})
	}
}
