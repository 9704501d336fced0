package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"contextworker/internal/llm"
	"contextworker/internal/secret"
	"contextworker/modules/deploy/plan"
	wf "contextworker/workflows/deploy"
)

// Planner is modules.deploy.planner.
type Planner struct {
	// LLM asks an OpenAI-compatible model for tier-2 plans when a deploy
	// has a task_prompt; off when unset.
	LLM *LLMPlanner `yaml:"llm"`
}

// LLMPlanner is modules.deploy.planner.llm.
type LLMPlanner struct {
	// Endpoint is the chat-completions URL.
	Endpoint string `yaml:"endpoint"`
	Model    string `yaml:"model"`
	// APIKey is a secret ref (env:, file:, credential:); optional.
	APIKey secret.Ref `yaml:"api_key"`
	// Timeout bounds one request; default 60s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries after a failed request (429, 5xx, timeout); default 2.
	MaxRetries *int `yaml:"max_retries"`
}

// config maps the section onto the transport's configuration, defaults
// filled.
func (l *LLMPlanner) config() llm.Config {
	c := llm.Config{URL: l.Endpoint, Model: l.Model, APIKey: l.APIKey, Timeout: l.Timeout, MaxRetries: 2,
		MinBackoff: time.Second, MaxBackoff: 30 * time.Second, RequestsPerSecond: 1, Burst: 2,
		MaxResponseBytes: plan.MaxLLMResponseBytes}
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	if l.MaxRetries != nil {
		c.MaxRetries = *l.MaxRetries
	}
	return c
}

func (l *LLMPlanner) validate(path string) []error {
	err := l.config().Validate()
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range unjoin(err) {
		msg := e.Error()
		if rest, ok := strings.CutPrefix(msg, "url:"); ok {
			msg = "endpoint:" + rest
		}
		out = append(out, errors.New(path+"."+msg))
	}
	return out
}

// llmClient returns the LLM planner's client (one per Activities, so its
// rate limit is shared), or nil when none is configured.
func (a *Activities) llmClient() (*llm.Client, error) {
	if a.Cfg.Planner == nil || a.Cfg.Planner.LLM == nil {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.llm == nil {
		c, err := llm.New(a.Cfg.Planner.LLM.config(), nil, a.Env)
		if err != nil {
			return nil, nonRetryable(wf.ErrInvalidInput, fmt.Errorf("plan: llm planner: %w", err))
		}
		a.llm = c
	}
	return a.llm, nil
}

// tier2 returns the tier-2 stack and what became of the task prompt: the
// LLM planner's plan when one is configured and the deploy has a prompt,
// else the rules planner's. An LLM answer that is not a valid plan fails
// the run; the plan it gives still goes through Validate like any other.
func (a *Activities) tier2(ctx context.Context, root *os.Root, module, prompt string) (*plan.Stack, *wf.Prompt, error) {
	c, err := a.llmClient()
	if err != nil {
		return nil, nil, err
	}
	if prompt == "" || c == nil {
		st, err := plan.Detect(root.FS(), module)
		if err != nil {
			return nil, nil, nonRetryable(wf.ErrBadManifest, fmt.Errorf("tier 2: %w", err))
		}
		var p *wf.Prompt
		if prompt != "" {
			p = &wf.Prompt{Text: prompt, Used: false, Note: promptNote}
		}
		return st, p, nil
	}
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return nil, nil, fmt.Errorf("plan: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Name() != ".git" {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	st, err := plan.AskLLM(ctx, c, prompt, files)
	if errors.Is(err, plan.ErrRefusedAnswer) {
		return nil, nil, nonRetryable(wf.ErrBadManifest, fmt.Errorf("plan: %w", err))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("plan: %w", err)
	}
	return st, &wf.Prompt{Text: prompt, Used: true,
		Note: fmt.Sprintf("task_prompt used by the llm planner (model %s); its plan is validated by the target's policy like any other", c.Config().Model)}, nil
}
