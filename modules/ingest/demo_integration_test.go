package ingest_test

import (
	"strings"
	"testing"

	"contextworker/modules/ingest/demo"
)

// TestDemo runs make run's ingest demo on the sample documents: four
// honest ones are admitted, the poisoned one is quarantined with its
// reason and a hint to review it.
func TestDemo(t *testing.T) {
	s := newStack(t, "")
	var out strings.Builder
	// Its own tenant: the dev server is shared by the package's tests, and
	// the same document of the same tenant is the same workflow id.
	if err := demo.Demo(s.ctx(), s.tc, s.db, "demo", "testdata/samples", &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Log("\n" + got)
	if n := strings.Count(got, " admitted "); n != 4 {
		t.Errorf("%d admitted SNOs, want 4", n)
	}
	if n := strings.Count(got, " rules-v1 "); n != 5 {
		t.Errorf("%d SNOs shown built by rules-v1, want all 5 (the default extractor)", n)
	}
	if !strings.Contains(got, "quarantined") || !strings.Contains(got, "unresolved_citations") || !strings.Contains(got, "--name release") {
		t.Errorf("the poisoned sample is not shown quarantined with its reason and a review hint")
	}
}
