package duplicates

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/enrichtest"
)

// TestEnrichIsMarshalledKey: what Enrich stores is Key's value as
// json.Marshal encodes it, on generated products, oddities included.
func TestEnrichIsMarshalledKey(t *testing.T) {
	for _, cfg := range []Config{{ByGTIN: true, MinMembers: 2}, {ByGTIN: true, ByBrandName: true, MinMembers: 2}, {ByBrandName: true, MinMembers: 2}} {
		e, err := Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := enrichtest.Products(5000, 3)
		if err != nil {
			t.Fatal(err)
		}
		enrichtest.AddOddities(ps)
		ps = append(ps, &enrich.Product{GTIN: "0", Changed: true}, &enrich.Product{GTIN: "000000000000000012345", Changed: true},
			&enrich.Product{GTIN: "<&>\u2028\xff", Changed: true}, &enrich.Product{Brand: "Acme", Name: "Acme <Drill> & \"more\"", Changed: true})
		pl := enrich.NewPipeline(enrich.Step{Name: Name, Version: Version, Enricher: e})
		if _, err := pl.Run(context.Background(), enrich.Run{Now: time.Now()}, ps, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			var got []byte
			for _, r := range p.Results() {
				got = r.Value
			}
			v, ok := e.Key(p)
			want, _ := json.Marshal(v)
			if (got != nil) != ok || ok && string(got) != string(want) {
				t.Fatalf("%+v: %q: stored %s, want %s (%v)", cfg, p.GTIN, got, want, ok)
			}
		}
	}
}
