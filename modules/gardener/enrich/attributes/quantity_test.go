package attributes

import (
	"encoding/json"
	"math"
	"testing"

	"contextworker/modules/gardener/enrich"
)

// TestSetQuantityIsMarshal: a quantity is stored as json.Marshal encodes
// it, and one Marshal refuses fails the batch as it did.
func TestSetQuantityIsMarshal(t *testing.T) {
	for _, v := range []float64{0, 0.5, 0.0005, 5e-7, 1e-12, 1.36077711, 999999999000, 1e21, 3.785411784e-3, math.Inf(1)} {
		for _, unit := range []string{"kg", "m3"} {
			q := &Quantity{Value: v, Unit: unit}
			p := &enrich.Product{}
			var out enrich.Output
			setQuantity(&out, p, FieldWeight, q, nil)
			want, err := json.Marshal(q)
			if err != nil {
				if len(p.Results()) != 0 {
					t.Fatalf("%v: stored %s, Marshal refuses it", v, p.Results()[0].Value)
				}
				continue
			}
			if len(p.Results()) != 1 || string(p.Results()[0].Value) != string(want) {
				t.Fatalf("%v: stored %v, want %s", v, p.Results(), want)
			}
		}
	}
}
