package searchattr

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestMakefileRegistersEveryAttribute: `make dev-server` registers the
// search attributes on its own command line; a name added here but not
// there makes every workflow that upserts it fail on that server.
func TestMakefileRegistersEveryAttribute(t *testing.T) {
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^SEARCH_ATTRS\s*:=(.*)$`).FindSubmatch(data)
	if line == nil {
		t.Fatal("Makefile has no SEARCH_ATTRS := line")
	}
	var inMakefile []string
	for _, m := range regexp.MustCompile(`--search-attribute\s+(\S+)`).FindAllSubmatch(line[1], -1) {
		inMakefile = append(inMakefile, string(m[1]))
	}
	for _, n := range Names {
		if !slices.Contains(inMakefile, n) {
			t.Errorf("Makefile SEARCH_ATTRS lacks --search-attribute %s", n)
		}
	}
	for _, n := range inMakefile {
		if !slices.Contains(Names, n) {
			t.Errorf("Makefile SEARCH_ATTRS registers %s, which internal/searchattr does not name", n)
		}
	}
}
