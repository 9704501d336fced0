// Package packaging holds what production hosts run contextworker with
// (systemd units, the production config example, the container files, the
// Grafana dashboard) and the checks on them. Its Go code only reads those
// files for tests; nothing in a binary imports it.
package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// metricPrefixes are the families the worker exports: the SDK's, Go's,
// the process's and the app's own.
var metricPrefixes = []string{"temporal_", "go_", "process_", "contextworker_"}

var identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// DashboardMetricNames returns the sorted metric names that the queries
// ("expr") of the Grafana dashboard at path use: every identifier with one
// of the exported families' prefixes.
func DashboardMetricNames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", path, err)
	}
	seen := make(map[string]bool)
	walkExprs(doc, func(expr string) {
		for _, id := range identifier.FindAllString(expr, -1) {
			for _, p := range metricPrefixes {
				if strings.HasPrefix(id, p) {
					seen[id] = true
				}
			}
		}
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func walkExprs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				fn(s)
				continue
			}
			walkExprs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkExprs(e, fn)
		}
	}
}
