package ingest_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	acts "contextworker/activities/ingest"
	"contextworker/internal/config"
	"contextworker/modules/ingest"
	"contextworker/modules/ingest/embed"
	"contextworker/modules/ingest/extract"
	"contextworker/registry"
)

// parse decodes and validates a temporal.yaml whose modules.ingest
// section is section, as the worker does.
func parse(t *testing.T, section string) (*acts.Config, error) {
	t.Helper()
	reg := registry.New()
	if err := reg.Register(ingest.Module{}); err != nil {
		t.Fatal(err)
	}
	yml := "modules:\n  ingest:\n" + indent(section, "    ")
	cfg, err := config.Parse("temporal.yaml", []byte(yml), reg)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, ok := cfg.Module("ingest").(*acts.Config)
	if !ok {
		t.Fatalf("modules.ingest decoded as %T", cfg.Module("ingest"))
	}
	return c, nil
}

func indent(s, pad string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pad + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func newActs(t *testing.T, c *acts.Config) *acts.Activities {
	t.Helper()
	a, err := acts.New(nil, c, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestExtractorEmbedderDefaults: without the sections, the offline
// defaults are wired, as before.
func TestExtractorEmbedderDefaults(t *testing.T) {
	c, err := parse(t, "max_claims: 7\n")
	if err != nil {
		t.Fatal(err)
	}
	a := newActs(t, c)
	if r, ok := a.Extractor.(extract.Rules); !ok || r.MaxClaims != 7 {
		t.Errorf("extractor = %#v, want rules with max_claims 7", a.Extractor)
	}
	if _, ok := a.Embedder.(embed.Hashing); !ok {
		t.Errorf("embedder = %#v, want hashing", a.Embedder)
	}
}

const goodPlugins = `extractor:
  kind: llm
  llm:
    url: http://127.0.0.1:8000/v1/chat/completions
    model: qwen2.5-7b-instruct
    api_key: env:LLM_API_KEY
    timeout: 2m
    requests_per_second: 5
    max_input_bytes: 20000
    response_format: json_object
embedder:
  kind: openai
  openai:
    url: https://api.openai.com/v1/embeddings
    model: text-embedding-3-small
    api_key: env:OPENAI_API_KEY
    dimensions: 256
    send_dimensions: true
    batch_size: 32
`

func TestExtractorEmbedderConfigured(t *testing.T) {
	c, err := parse(t, goodPlugins)
	if err != nil {
		t.Fatal(err)
	}
	a := newActs(t, c)
	l, ok := a.Extractor.(*extract.LLM)
	if !ok {
		t.Fatalf("extractor = %#v, want llm", a.Extractor)
	}
	lc := l.Client.Config()
	if l.Name() != "llm-v1:qwen2.5-7b-instruct" || lc.Timeout.Minutes() != 2 || lc.RequestsPerSecond != 5 || lc.MaxRetries != 3 ||
		lc.APIKey.String() != "env:LLM_API_KEY" || l.MaxInputBytes != 20000 || !l.JSONObject || l.MaxClaims != 20 {
		t.Errorf("llm extractor = %+v with client %+v", l, lc)
	}
	if _, ok := l.Fallback.(extract.Rules); !ok {
		t.Errorf("fallback = %#v, want rules", l.Fallback)
	}
	o, ok := a.Embedder.(*embed.OpenAI)
	if !ok {
		t.Fatalf("embedder = %#v, want openai", a.Embedder)
	}
	if o.Name() != "openai:text-embedding-3-small:256" || !o.SendDimensions || o.BatchSize != 32 || o.MaxInputBytes != embed.DefaultMaxInputBytes {
		t.Errorf("openai embedder = %+v", o)
	}
}

// TestExtractorEmbedderConfigErrors: every problem is reported at once,
// each with its field path (and line, for unknown keys).
func TestExtractorEmbedderConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		section string
		want    []string
		not     []string // never in the message
	}{
		{name: "unknown kinds", section: "extractor: {kind: gpt}\nembedder: {kind: bert}\n",
			want: []string{`modules.ingest.extractor.kind: "gpt" is not an extractor (known: rules, llm)`, `modules.ingest.embedder.kind: "bert" is not an embedder (known: hashing, openai)`}},
		{name: "llm without endpoint", section: "extractor: {kind: llm}\nembedder: {kind: openai}\n",
			want: []string{"modules.ingest.extractor.llm.url:", "modules.ingest.extractor.llm.model: must not be empty",
				"modules.ingest.embedder.openai.url:", "modules.ingest.embedder.openai.model: must not be empty",
				"modules.ingest.embedder.openai.dimensions: must be 1..16384"}},
		{name: "bounds", section: `extractor:
  kind: llm
  llm: {url: "http://x/v1/chat/completions", model: m, max_input_bytes: 0, response_format: text, burst: 0, max_retries: 11}
embedder:
  kind: openai
  openai: {url: "http://x/v1/embeddings", model: e, dimensions: 8, batch_size: 0, max_input_bytes: 2000000, timeout: 0s}
`, want: []string{"extractor.llm.max_input_bytes: must be 1..", `extractor.llm.response_format: "text" must be json_schema or json_object`,
			"extractor.llm.burst: must be >= 1", "extractor.llm.max_retries: must be 0..10", "embedder.openai.batch_size: must be 1..2048",
			"embedder.openai.max_input_bytes: must be 1..", "embedder.openai.timeout: must be > 0"}},
		{name: "a literal key is refused", section: "extractor:\n  kind: llm\n  llm: {url: \"http://x/v1/chat/completions\", model: m, api_key: sk-literal-secret}\n",
			want: []string{"is not a reference"}, not: []string{"sk-literal-secret"}},
		{name: "credentials in the url", section: "embedder:\n  kind: openai\n  openai: {url: \"https://user:hunter2@x/v1/embeddings\", model: e, dimensions: 8}\n",
			want: []string{"modules.ingest.embedder.openai.url: must not hold credentials; put the key in api_key"}, not: []string{"hunter2"}},
		{name: "unknown key with its line", section: "extractor:\n  kind: llm\n  llm:\n    url: http://x/v1/chat/completions\n    modle: m\n",
			want: []string{`temporal.yaml:7: unknown key "modle" in modules.ingest.extractor.llm`}},
		{name: "llm section ignored with kind rules", section: "extractor:\n  kind: rules\n  llm: {url: nope}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.section)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("err = %v quotes %q", err, n)
				}
			}
		})
	}
}
