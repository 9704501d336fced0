package llm

import (
	"testing"

	"contextworker/modules/gardener/enrich/enrichtest"
)

// TestInputsAreWhatTheModelSees checks the enricher's declared inputs: a
// change to any other column leaves what the model sees of a product (and
// the cache key) as it was, and a change to a declared one does not.
func TestInputsAreWhatTheModelSees(t *testing.T) {
	ps := enrichtest.OddProducts(t, 300, 9)
	inputs := (&Enricher{}).Inputs()
	for _, col := range enrichtest.Columns {
		changed := 0
		for i, p := range ps {
			q := *p
			if !enrichtest.Mutate(&q, ps[(i+7)%len(ps)], col) {
				t.Fatalf("Mutate does not change %s", col)
			}
			if itemOf(&q) != itemOf(p) {
				changed++
			}
		}
		if declared := inputs.Has(col); declared != (changed > 0) {
			t.Errorf("%s: declared %v, but a change to it changed what the model sees of %d products of %d", col, declared, changed, len(ps))
		}
	}
}
