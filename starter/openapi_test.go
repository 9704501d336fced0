package starter

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes checks that openapi.json documents exactly the
// routes the server registers, and that /v1 operations declare the bearer
// scheme (or, for webhooks, the body signature) while public ones opt out.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI  string                                `json:"openapi"`
		Security []map[string][]string                 `json:"security"`
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("top-level security %v, want bearerAuth", doc.Security)
	}

	documented := make(map[string]bool)
	// signedRoutes take no token but a body signature (webhooks).
	signedRoutes := make(map[string]bool)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			var o struct {
				Security *[]map[string][]string `json:"security"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			public := o.Security != nil && len(*o.Security) == 0
			signed := o.Security != nil && len(*o.Security) == 1 && (*o.Security)[0]["hubSignature"] != nil
			if signed {
				signedRoutes[key] = true
			}
			if public == strings.HasPrefix(path, "/v1/") || signed && !strings.HasPrefix(path, "/v1/") {
				t.Errorf("%s: public=%v signed=%v, but /v1 routes need a token or a signature and only they do", key, public, signed)
			}
		}
	}

	s := unitHarness(t, nil).srv
	registered := make(map[string]bool)
	for _, rt := range s.routes() {
		key := rt.pattern()
		registered[key] = true
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
		}
		if (rt.need == public && !signedRoutes[key]) == strings.HasPrefix(rt.path, "/v1/") {
			t.Errorf("route %s: role %s, but exactly the /v1 routes need a token (or, documented so, a signature)", key, rt.need)
		}
		if signedRoutes[key] && rt.need != public {
			t.Errorf("route %s: documented as signed, but needs the %s role", key, rt.need)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(documented)) {
		if !registered[key] {
			t.Errorf("openapi.json documents %s, which is not a route", key)
		}
	}
}
