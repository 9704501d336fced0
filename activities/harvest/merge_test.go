package harvest

import (
	"regexp"
	"slices"
	"testing"

	"contextworker/internal/prodfields"
)

// TestMergeLogsEveryContentColumn: each column the merge's update copies
// from the feed is one the change log names (package prodfields), or one
// the harvest keeps for itself. A column added to the update and not to
// prodfields would be logged as "none known" (every column) at best; this
// makes its author decide.
func TestMergeLogsEveryContentColumn(t *testing.T) {
	bookkeeping := []string{"content_hash", "source_key", "last_seen", "last_run_id"}
	copied := regexp.MustCompile(`(\w+) = excluded\.(\w+)`).FindAllStringSubmatch(mergeSQL, -1)
	var set []string
	for _, m := range copied {
		if m[1] != m[2] {
			t.Fatalf("%s = excluded.%s: not the same column", m[1], m[2])
		}
		set = append(set, m[1])
		if !slices.Contains(prodfields.Names(), m[1]) && !slices.Contains(bookkeeping, m[1]) {
			t.Errorf("the merge updates %s, which the change log does not name (add it to package prodfields)", m[1])
		}
	}
	for _, name := range prodfields.Names() {
		if !slices.Contains(set, name) {
			t.Errorf("prodfields names %s, which the merge does not update", name)
		}
	}
}
