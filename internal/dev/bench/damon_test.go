package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTree writes files (path relative to root: content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDamonPageout(t *testing.T) {
	kd := func(i, rest string) string { return filepath.Join(damonAdmin, i, rest) }
	scheme := func(k, c, s, action, age string) map[string]string {
		dir := filepath.Join("contexts", c, "schemes", s)
		return map[string]string{
			kd(k, filepath.Join(dir, "action")):                       action,
			kd(k, filepath.Join(dir, "access_pattern", "age", "min")): age,
		}
	}
	ctx := func(k, c, aggrUS string) map[string]string {
		return map[string]string{kd(k, filepath.Join("contexts", c, "monitoring_attrs", "intervals", "aggr_us")): aggrUS}
	}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		idle  time.Duration
		found bool
	}{
		{"no DAMON", nil, 0, false},
		// The scheme of the machines this was measured on: 12 aggregation
		// intervals of 5 s.
		{"pageout after a minute", merge(map[string]string{kd("0", "state"): "on"}, ctx("0", "0", "5000000"),
			scheme("0", "0", "0", "pageout", "12")), time.Minute, true},
		{"stopped", merge(map[string]string{kd("0", "state"): "off"}, ctx("0", "0", "5000000"),
			scheme("0", "0", "0", "pageout", "12")), 0, false},
		{"another action", merge(map[string]string{kd("0", "state"): "on"}, ctx("0", "0", "5000000"),
			scheme("0", "0", "0", "lru_prio", "12")), 0, false},
		{"unreadable age", merge(map[string]string{kd("0", "state"): "on"}, ctx("0", "0", "5000000"),
			scheme("0", "0", "0", "pageout", "soon")), 0, false},
		{"the shortest of two", merge(map[string]string{kd("0", "state"): "on", kd("1", "state"): "on"},
			ctx("0", "0", "5000000"), scheme("0", "0", "0", "pageout", "12"), scheme("0", "0", "1", "pageout", "2"),
			ctx("1", "0", "100000"), scheme("1", "0", "0", "pageout", "600")), 10 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tc.files)
			idle, found := damonPageout(root)
			if idle != tc.idle || found != tc.found {
				t.Errorf("damonPageout = %v, %v; want %v, %v", idle, found, tc.idle, tc.found)
			}
			note := damonNote(root)
			if found != (note != "") || found && !strings.Contains(note, tc.idle.String()) {
				t.Errorf("damonNote = %q for idle %v, found %v", note, tc.idle, found)
			}
		})
	}
}
