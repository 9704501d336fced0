package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, format, level string
		wantErr             string
		check               func(t *testing.T, out string)
	}{
		{name: "json", format: "json", level: "info", check: func(t *testing.T, out string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil || m["msg"] != "hello" || m["k"] != "v" {
				t.Fatalf("not a JSON line: %q", out)
			}
		}},
		{name: "text", format: "text", level: "debug", check: func(t *testing.T, out string) {
			if !strings.Contains(out, "msg=hello k=v") {
				t.Fatalf("text line: %q", out)
			}
		}},
		{name: "level filters", format: "json", level: "error", check: func(t *testing.T, out string) {
			if out != "" {
				t.Fatalf("info line at error level: %q", out)
			}
		}},
		{name: "bad format", format: "xml", level: "info", wantErr: `format "xml"`},
		{name: "bad level", format: "json", level: "loud", wantErr: `level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, tt.format, tt.level)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Info("hello", "k", "v")
			tt.check(t, buf.String())
		})
	}
}

func TestTemporalBridge(t *testing.T) {
	var buf bytes.Buffer
	l, _ := New(&buf, "json", "info")
	Temporal(l).Info("from sdk", "WorkflowID", "wf-1")
	if !strings.Contains(buf.String(), `"WorkflowID":"wf-1"`) {
		t.Fatalf("bridge lost fields: %s", buf.String())
	}
}
