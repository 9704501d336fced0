package attributes

import (
	"reflect"
	"testing"

	"contextworker/modules/gardener/enrich/enrichtest"
)

// TestExtractIsReference: Extract finds on generated products, oddities
// included, what it found before it reused its buffers.
func TestExtractIsReference(t *testing.T) {
	ps, err := enrichtest.Products(20000, 11)
	if err != nil {
		t.Fatal(err)
	}
	enrichtest.AddOddities(ps)
	e, err := Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var sc scratch
	for _, p := range ps {
		if got, want := e.extract(p, &sc), e.extractReference(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %q / %q: Extract = %+v, want %+v", p.SKU, p.Name, p.Description, got, want)
		}
	}
}
