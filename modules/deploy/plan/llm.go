package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"contextworker/internal/llm"
)

// LLMStack is the Stack.Name of a plan the LLM planner proposed.
const LLMStack = "llm"

// ErrRefusedAnswer marks a model answer that is not a valid plan: it is
// never used, and asking again would not make the prompt valid.
var ErrRefusedAnswer = errors.New("llm plan refused")

// Limits of an LLM plan: anything larger is refused, not truncated.
const (
	maxLLMCommands = 8
	maxArgv        = 32
	maxArgBytes    = 1024
	maxFilesSent   = 100
	// MaxLLMResponseBytes bounds the planner's response body.
	MaxLLMResponseBytes = 64 << 10
)

// llmSchema is the strict response_format the model is asked to follow.
// The answer is validated again here: a server may ignore it.
const llmSchema = `{"name":"deploy_plan","strict":true,"schema":{"type":"object","additionalProperties":false,` +
	`"required":["build","test","start"],"properties":{` +
	`"build":{"type":"array","items":{"type":"array","items":{"type":"string"}}},` +
	`"test":{"type":"array","items":{"type":"array","items":{"type":"string"}}},` +
	`"start":{"type":"array","items":{"type":"string"}}}}}`

const llmSystem = `You plan how to build, test and start a repository on a deploy target.
Answer only with a JSON object {"build": [[argv...]...], "test": [[argv...]...], "start": [argv...]}.
Every command is an argv list run without a shell: no sh -c, no pipes, no redirections, no && or ;.
"build" has 1 to 8 commands, "test" 0 to 8, "start" is one command that serves HTTP on $PORT.
The user message gives the repository's top-level files and the operator's task prompt.`

// Chatter is what the LLM planner needs of a chat-completions client.
type Chatter interface {
	Key() (string, error)
	Chat(ctx context.Context, key string, req llm.Request) (string, error)
}

// AskLLM asks the model behind c for a plan of the repository whose
// top-level file names are files, following the operator's prompt. An
// answer that is not a valid plan is refused with ErrRefusedAnswer; other
// errors are the transport's. The plan still goes through the target's
// policy: this only checks its shape.
func AskLLM(ctx context.Context, c Chatter, prompt string, files []string) (*Stack, error) {
	if len(files) > maxFilesSent {
		files = files[:maxFilesSent]
	}
	user, err := json.Marshal(struct {
		Files  []string `json:"files"`
		Prompt string   `json:"task_prompt"`
	}{files, prompt})
	if err != nil {
		return nil, fmt.Errorf("llm planner: %w", err)
	}
	key, err := c.Key()
	if err != nil {
		return nil, fmt.Errorf("llm planner: %w", err)
	}
	content, err := c.Chat(ctx, key, llm.Request{
		Messages:       []llm.Message{{Role: "system", Content: llmSystem}, {Role: "user", Content: string(user)}},
		ResponseFormat: llm.ResponseFormat{Type: "json_schema", JSONSchema: json.RawMessage(llmSchema)},
	})
	if err != nil {
		return nil, fmt.Errorf("llm planner: %w", err)
	}
	return ParseLLM(content)
}

// ParseLLM validates a model's answer strictly: one JSON object with
// exactly build, test and start, every argv non-empty and bounded, with no
// control characters. Anything else is refused with ErrRefusedAnswer and
// the reason.
func ParseLLM(content string) (*Stack, error) {
	refuse := func(format string, a ...any) error {
		return fmt.Errorf("llm planner: %w: %s", ErrRefusedAnswer, fmt.Sprintf(format, a...))
	}
	var ans struct {
		Build *[][]string `json:"build"`
		Test  *[][]string `json:"test"`
		Start *[]string   `json:"start"`
	}
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil {
		return nil, refuse("not a plan object: %v", err)
	}
	if dec.More() {
		return nil, refuse("trailing data after the plan object")
	}
	if ans.Build == nil || ans.Test == nil || ans.Start == nil {
		return nil, refuse("build, test and start are all required")
	}
	if n := len(*ans.Build); n < 1 || n > maxLLMCommands {
		return nil, refuse("build has %d commands, want 1..%d", n, maxLLMCommands)
	}
	if n := len(*ans.Test); n > maxLLMCommands {
		return nil, refuse("test has %d commands, want 0..%d", n, maxLLMCommands)
	}
	var errs []string
	check := func(step string, argv []string) {
		if len(argv) < 1 || len(argv) > maxArgv {
			errs = append(errs, fmt.Sprintf("%s: argv has %d elements, want 1..%d", step, len(argv), maxArgv))
			return
		}
		for i, arg := range argv {
			switch {
			case arg == "" && i == 0:
				errs = append(errs, step+": empty program")
			case len(arg) > maxArgBytes:
				errs = append(errs, fmt.Sprintf("%s: argument %d is longer than %d bytes", step, i, maxArgBytes))
			case strings.IndexFunc(arg, unicode.IsControl) >= 0:
				errs = append(errs, fmt.Sprintf("%s: argument %d has control characters", step, i))
			}
		}
	}
	for i, argv := range *ans.Build {
		check(fmt.Sprintf("build[%d]", i), argv)
	}
	for i, argv := range *ans.Test {
		check(fmt.Sprintf("test[%d]", i), argv)
	}
	check("start", *ans.Start)
	if len(errs) > 0 {
		return nil, refuse("%s", strings.Join(errs, "; "))
	}
	return &Stack{Name: LLMStack, Evidence: "task_prompt", Build: *ans.Build, Test: *ans.Test, Start: *ans.Start}, nil
}
