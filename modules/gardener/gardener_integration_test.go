package gardener_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	gwf "contextworker/workflows/gardener"
)

const header = "sku,name,brand,gtin,price,currency,stock,category,url,images\n"

// Two suppliers offer the same hammer (GTIN 4006381333931); the third
// offer, from s2, is priced far above the others.
const feedS1 = header +
	"H1,Claw hammer 500 g steel black,BOSCH Professional,4006381333931,10.00,EUR,5,Tools > Hammers,https://s1.example/h1,https://img.example/h1.jpg\n" +
	"D1,Akku drill 18V,robert bosch,,99.00,EUR,0,Werkzeug > Bohrer > Akku,https://s1.example/d1,https://img.example/d1.jpg\n" +
	"G1,Garden hose 20 m green,Gardena,,25.00,EUR,3,Garden > Hose,https://s1.example/g1,\n" +
	"T1,Puzzle 1000,Ravensburger,,15.00,EUR,2,Toys > Puzzles,https://s1.example/t1,https://img.example/t1.jpg\n" +
	"T2,Puzzle 500,Ravensburger,,9.00,EUR,2,Toys > Puzzles,https://s1.example/t2,https://img.example/t2.jpg\n"

const feedS2 = header +
	"X-H1,Hammer 0.5kg,Bosch,4006381333931,11.00,EUR,4,Werkzeug > Hämmer,https://s2.example/h1,https://img.example/x1.jpg\n" +
	"X-H2,Hammer 0.5kg gold edition,Bosch,04006381333931,60.00,EUR,4,Werkzeug > Hämmer,https://s2.example/h2,https://img.example/x2.jpg\n" +
	"X-K1,Knife,Wüsthof,,30.00,EUR,1,Kitchen,https://s2.example/k1,https://img.example/k1.jpg\n"

func TestHarvestThenGardener(t *testing.T) {
	s := newStack(t, true)
	s.harvest("s1", feedS1)
	s.harvest("s2", feedS2)

	first := s.garden(gwf.Input{TenantID: "acme"})
	if *updateHistory {
		s.saveHistory(gwf.WorkflowID("acme"), first.RunID, "../../workflows/gardener/testdata/gardener_history.json")
	}
	if first.Processed != 8 || first.Written == 0 || first.Batches != 2 || first.From != nil {
		t.Fatalf("first run: %+v; want 8 products in 2 batches of 4, something written, no watermark yet", first)
	}
	got := s.enrichments("acme")
	want := map[string]string{
		"s1/H1 brand":                    `{"key": "bosch", "name": "Bosch"}`,
		"s1/D1 brand":                    `{"key": "bosch", "name": "Bosch"}`,
		"s1/H1 category":                 `{"by": "exact", "path": "Tools > Hand Tools > Hammers", "score": 1}`,
		"s1/D1 category":                 `{"by": "rule", "path": "Tools > Power Tools > Drills", "score": 1}`,
		"s1/H1 attributes.weight":        `{"unit": "kg", "value": 0.5}`,
		"s1/H1 attributes.color":         `"black"`,
		"s1/H1 attributes.material":      `"steel"`,
		"s2/X-H1 attributes.weight":      `{"unit": "kg", "value": 0.5}`,
		"s1/G1 quality.missing_image":    `true`,
		"s2/X-H2 quality.price_outlier":  `{"ratio": 5.45, "median": 11.0000}`,
		"s2/X-H1 group":                  `{"by": "gtin", "key": "gtin:04006381333931", "group_id": "g34c7db00ea2cb8c6"}`,
		"s1/D1 quality.stock_zero_since": "",
		"s1/H1 quality.price_outlier":    "-",
		"s1/G1 category":                 "",
		"s1/T1 category":                 "-",
		"s2/X-K1 brand":                  `{"key": "wusthof", "name": "Wüsthof"}`,
	}
	for k, w := range want {
		e, ok := got[k]
		switch {
		case w == "-" && ok:
			t.Errorf("%s = %s, want none", k, e.value)
		case w == "-":
		case !ok:
			t.Errorf("%s missing", k)
		case w != "" && e.value != w:
			t.Errorf("%s = %s, want %s", k, e.value, w)
		}
		if ok && w != "-" && (e.runID != first.RunID || !strings.HasPrefix(e.version, "1+") || e.enricher == "") {
			t.Errorf("%s provenance = %+v, want run %s at version 1+…", k, e, first.RunID)
		}
	}
	if got["s1/H1 brand"].enricher != "brand" || got["s2/X-H2 quality.price_outlier"].enricher != "quality" {
		t.Errorf("enricher provenance: %+v %+v", got["s1/H1 brand"], got["s2/X-H2 quality.price_outlier"])
	}
	var members int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM product_group_members WHERE tenant_id = 'acme' AND group_id = 'g34c7db00ea2cb8c6'`).Scan(&members); err != nil || members != 3 {
		t.Errorf("group members = %d (%v), want 3", members, err)
	}
	unmapped := map[string]int64{}
	for _, c := range first.UnmappedCategories {
		unmapped[c.Key] = c.Count
	}
	if unmapped["Toys > Puzzles"] != 2 || unmapped["Kitchen"] != 1 || first.UnmappedTotal != 3 {
		t.Errorf("unmapped = %v (total %d), want Toys > Puzzles ×2, Kitchen ×1", first.UnmappedCategories, first.UnmappedTotal)
	}
	var products int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM products WHERE tenant_id = 'acme' AND last_run_id LIKE '%'`).Scan(&products); err != nil || products != 8 {
		t.Fatalf("products = %d %v", products, err)
	}

	t.Run("rerun with nothing changed writes nothing", func(t *testing.T) {
		again := s.garden(gwf.Input{TenantID: "acme"})
		if again.From == nil || again.Written != 0 || again.Deleted != 0 || again.Finalized != 0 {
			t.Fatalf("rerun: %+v; want a watermark and nothing written", again)
		}
		if after := s.enrichments("acme"); !maps.Equal(after, got) {
			t.Fatal("a rerun changed stored enrichments")
		}
	})
	t.Run("full rerun writes nothing either", func(t *testing.T) {
		full := s.garden(gwf.Input{TenantID: "acme", Full: true})
		if full.Processed != 8 || full.Written != 0 || full.Deleted != 0 || full.Finalized != 0 {
			t.Fatalf("full rerun: %+v; want 8 processed, nothing written", full)
		}
	})
	t.Run("a changed product is re-enriched, a removed value is removed", func(t *testing.T) {
		s.harvest("s1", strings.Replace(feedS1, "Garden hose 20 m green,Gardena,,25.00,EUR,3,Garden > Hose,https://s1.example/g1,",
			"Garden hose 20 m green,Gardena,,25.00,EUR,3,Garden > Hose,https://s1.example/g1,https://img.example/g1.jpg", 1))
		rep := s.garden(gwf.Input{TenantID: "acme", SupplierCode: "s1"})
		if rep.Written != 0 || rep.Deleted != 1 {
			t.Fatalf("report %+v; want just the missing-image flag removed", rep)
		}
		if _, ok := s.enrichments("acme")["s1/G1 quality.missing_image"]; ok {
			t.Fatal("missing-image flag still stored")
		}
	})
	t.Run("an incremental pass leaves the groups a full pass would", func(t *testing.T) {
		// X-H2 leaves s2's feed: deactivated, it leaves its group, which a
		// pass confined to changed products must notice although the
		// product itself is not read again.
		s.harvest("s2", strings.Replace(feedS2, "X-H2,Hammer 0.5kg gold edition,Bosch,04006381333931,60.00,EUR,4,Werkzeug > Hämmer,https://s2.example/h2,https://img.example/x2.jpg\n", "", 1))
		rep := s.garden(gwf.Input{TenantID: "acme"})
		if rep.From == nil || rep.Finalized == 0 {
			t.Fatalf("incremental run %+v; want a watermark and the member removed", rep)
		}
		if n := s.groupMembers("acme", "g34c7db00ea2cb8c6"); n != 2 {
			t.Fatalf("group members after X-H2 left = %d, want 2", n)
		}
		full := s.garden(gwf.Input{TenantID: "acme", Full: true})
		if full.Written != 0 || full.Deleted != 0 || full.Finalized != 0 {
			t.Fatalf("a full pass after the incremental one wrote %+v; the incremental pass missed something", full)
		}
	})
	t.Run("an incremental pass follows a key into a group and out of it", func(t *testing.T) {
		// X-K1 takes the hammers' GTIN, then gives it up: the pass finds
		// the group by the key it now has, then by the key it had.
		s2 := strings.Replace(feedS2, "X-H2,Hammer 0.5kg gold edition,Bosch,04006381333931,60.00,EUR,4,Werkzeug > Hämmer,https://s2.example/h2,https://img.example/x2.jpg\n", "", 1)
		for _, step := range []struct {
			gtin    string
			members int
		}{{"4006381333931", 3}, {"", 2}} {
			s.harvest("s2", strings.Replace(s2, "X-K1,Knife,Wüsthof,,", "X-K1,Knife,Wüsthof,"+step.gtin+",", 1))
			if rep := s.garden(gwf.Input{TenantID: "acme"}); rep.From == nil || rep.Written+rep.Deleted != 1 {
				t.Fatalf("gtin %q: incremental run %+v; want a watermark and X-K1's key written or removed", step.gtin, rep)
			}
			if n := s.groupMembers("acme", "g34c7db00ea2cb8c6"); n != step.members {
				t.Fatalf("gtin %q: group members = %d, want %d", step.gtin, n, step.members)
			}
			full := s.garden(gwf.Input{TenantID: "acme", Full: true})
			if full.Written != 0 || full.Deleted != 0 || full.Finalized != 0 {
				t.Fatalf("gtin %q: a full pass after the incremental one wrote %+v; the incremental pass missed something", step.gtin, full)
			}
		}
	})
	t.Run("a product that comes back rejoins its group; a price change moves none", func(t *testing.T) {
		// X-H2 returns to s2's feed as it was: reactivated, with the key it
		// had stored, it changed no key, yet its group must take it back.
		// Then H1's price changes: a product active before the window that
		// keeps its key leaves the groups as they are.
		s.harvest("s2", feedS2)
		if rep := s.garden(gwf.Input{TenantID: "acme"}); rep.From == nil || rep.Finalized == 0 {
			t.Fatalf("incremental run after X-H2 came back %+v; want a watermark and the member added", rep)
		}
		if n := s.groupMembers("acme", "g34c7db00ea2cb8c6"); n != 3 {
			t.Fatalf("group members after X-H2 came back = %d, want 3", n)
		}
		s1 := strings.Replace(feedS1, "Garden hose 20 m green,Gardena,,25.00,EUR,3,Garden > Hose,https://s1.example/g1,",
			"Garden hose 20 m green,Gardena,,25.00,EUR,3,Garden > Hose,https://s1.example/g1,https://img.example/g1.jpg", 1) // as harvested last
		s.harvest("s1", strings.Replace(s1, "BOSCH Professional,4006381333931,10.00", "BOSCH Professional,4006381333931,10.50", 1))
		rep := s.garden(gwf.Input{TenantID: "acme"})
		if rep.From == nil || rep.Processed != 0 || rep.Skipped != 1 {
			t.Fatalf("incremental run after H1's price changed %+v; want H1 alone skipped (no enricher reads prices)", rep)
		}
		if n := s.groupMembers("acme", "g34c7db00ea2cb8c6"); n != 3 {
			t.Fatalf("group members after H1's price changed = %d, want 3", n)
		}
		full := s.garden(gwf.Input{TenantID: "acme", Full: true})
		if full.Written != 0 || full.Deleted != 0 || full.Finalized != 0 {
			t.Fatalf("a full pass after the incremental ones wrote %+v; an incremental pass missed something", full)
		}
	})
}

func (s *stack) groupMembers(tenant, group string) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM product_group_members WHERE tenant_id = $1 AND group_id = $2`,
		tenant, group).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}
