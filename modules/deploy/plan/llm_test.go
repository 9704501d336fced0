package plan

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"contextworker/internal/llm"
)

func TestParseLLM(t *testing.T) {
	long := strings.Repeat("a", maxArgBytes+1)
	tests := []struct {
		name    string
		content string
		want    *Stack
		reason  string
	}{
		{name: "good", content: `{"build":[["python3","-m","venv",".venv"]],"test":[],"start":["python3","app.py"]}`,
			want: &Stack{Name: LLMStack, Evidence: "task_prompt", Build: [][]string{{"python3", "-m", "venv", ".venv"}}, Test: [][]string{}, Start: []string{"python3", "app.py"}}},
		{name: "not json", content: `sure! here is the plan: build it`, reason: "not a plan object"},
		{name: "unknown field", content: `{"build":[["make"]],"test":[],"start":["./app"],"shell":"sh -c x"}`, reason: "unknown field"},
		{name: "missing start", content: `{"build":[["make"]],"test":[]}`, reason: "all required"},
		{name: "string not argv", content: `{"build":"make && make install","test":[],"start":["./app"]}`, reason: "not a plan object"},
		{name: "trailing", content: `{"build":[["make"]],"test":[],"start":["./app"]} {}`, reason: "trailing data"},
		{name: "no build", content: `{"build":[],"test":[],"start":["./app"]}`, reason: "build has 0 commands"},
		{name: "empty start", content: `{"build":[["make"]],"test":[],"start":[]}`, reason: "start: argv has 0 elements"},
		{name: "control chars", content: `{"build":[["make","x\ny"]],"test":[],"start":["./app"]}`, reason: "control characters"},
		{name: "long arg", content: `{"build":[["make","` + long + `"]],"test":[],"start":["./app"]}`, reason: "longer than"},
		{name: "too many", content: `{"build":[` + strings.Repeat(`["make"],`, maxLLMCommands) + `["make"]],"test":[],"start":["./app"]}`, reason: "build has 9 commands"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLLM(tt.content)
			if tt.reason != "" {
				if !errors.Is(err, ErrRefusedAnswer) || !strings.Contains(err.Error(), tt.reason) || got != nil {
					t.Fatalf("ParseLLM = %+v, %v; want refused with %q", got, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(tt.want)
			if string(a) != string(b) {
				t.Errorf("ParseLLM = %s, want %s", a, b)
			}
		})
	}
}

func TestSchemaIsJSON(t *testing.T) {
	if !json.Valid([]byte(llmSchema)) {
		t.Fatal("llmSchema is not valid JSON")
	}
}

// TestAskLLM asks a local chat-completions server and checks what it was
// sent: the strict schema, the prompt and the file names.
func TestAskLLM(t *testing.T) {
	var got struct {
		Messages       []llm.Message      `json:"messages"`
		ResponseFormat llm.ResponseFormat `json:"response_format"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("request: %v", err)
		}
		b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]string{
			"content": `{"build":[["make"]],"test":[["make","test"]],"start":["make","run"]}`}}}})
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	c, err := llm.New(llm.Config{URL: srv.URL, Model: "m", Timeout: 5 * time.Second, MinBackoff: time.Millisecond,
		MaxBackoff: time.Millisecond, RequestsPerSecond: 100, Burst: 1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := AskLLM(context.Background(), c, "use make run", []string{"Makefile", "main.c"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != LLMStack || len(st.Build) != 1 || st.Start[1] != "run" || len(st.Test) != 1 {
		t.Errorf("stack = %+v", st)
	}
	if got.ResponseFormat.Type != "json_schema" || !strings.Contains(string(got.ResponseFormat.JSONSchema), `"strict":true`) ||
		len(got.Messages) != 2 || !strings.Contains(got.Messages[1].Content, "use make run") || !strings.Contains(got.Messages[1].Content, "Makefile") {
		t.Errorf("request = %+v", got)
	}
}
