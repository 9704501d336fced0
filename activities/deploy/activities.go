// Package deploy holds the deploy module's activities: all of its I/O.
// They check out repositories on the worker, plan and validate deploys
// under the target's policy, lay out releases and run commands on the
// target (locally or over SSH), health-check and roll back, and audit
// every command in deploy_audit. Each is idempotent: a retried activity
// finds what its earlier attempt did and never runs a command that already
// succeeded again.
package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"golang.org/x/time/rate"

	"contextworker/internal/llm"
	"contextworker/internal/secret"
	"contextworker/modules/deploy/release"
	"contextworker/modules/deploy/remote"
	wf "contextworker/workflows/deploy"
)

// Activities carries the deploy activities' dependencies.
type Activities struct {
	DB     *pgxpool.Pool
	Cfg    *Config
	Logger *slog.Logger
	// Env resolves secret refs (os.LookupEnv when nil).
	Env  secret.Lookup
	HTTP *http.Client
	// Metrics counts finished steps and rollbacks; nil records nothing.
	Metrics *Metrics

	mu      sync.Mutex
	runners map[string]remote.Runner
	llm     *llm.Client // the LLM planner's, made on first use
}

// New returns the activities for cfg.
func New(db *pgxpool.Pool, cfg *Config, logger *slog.Logger) *Activities {
	return &Activities{DB: db, Cfg: cfg, Logger: logger, HTTP: &http.Client{
		// Health checks never follow redirects off the target.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, runners: map[string]remote.Runner{}}
}

// Close closes the targets' connections.
func (a *Activities) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, r := range a.runners {
		_ = r.Close()
		delete(a.runners, name)
	}
	return nil
}

func (a *Activities) target(name string) (*Target, error) {
	t, ok := a.Cfg.Targets[name]
	if !ok || t == nil {
		return nil, nonRetryable(wf.ErrInvalidInput, fmt.Errorf("target %q is not configured", name))
	}
	return t, nil
}

// runner returns the target's runner: one per target, rate-limited by its
// policy, an SSH connection reused by every command.
func (a *Activities) runner(name string) (remote.Runner, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.runners[name]; ok {
		return r, nil
	}
	t, err := a.target(name)
	if err != nil {
		return nil, err
	}
	var base remote.Runner = remote.Local{}
	if t.Kind == "ssh" {
		key, err := t.SSH.PrivateKey.Resolve(a.Env)
		if err != nil {
			return nil, fmt.Errorf("target %s: private key: %w", name, err)
		}
		s, err := remote.NewSSH(remote.SSHConfig{Addr: t.SSH.Addr, User: t.SSH.User, KnownHosts: t.SSH.KnownHosts,
			PrivateKey: []byte(key), DialTimeout: t.SSH.Timeout})
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
		base = s
	}
	r := &limited{Runner: base, lim: rate.NewLimiter(rate.Limit(t.Policy.CommandsPerMinute/60), t.Policy.Burst)}
	a.runners[name] = r
	return r, nil
}

// limited rate-limits a target's commands (its policy's
// commands_per_minute and burst); waiting honours cancellation.
type limited struct {
	remote.Runner
	lim *rate.Limiter
}

func (l *limited) Run(ctx context.Context, c remote.Command) (remote.Result, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return remote.Result{ExitCode: -1}, fmt.Errorf("rate limit: %w", err)
	}
	return l.Runner.Run(ctx, c)
}

// base is the target's absolute base directory.
func base(t *Target) (string, error) {
	if t.Kind == "local" {
		return filepath.Abs(t.Dir)
	}
	return t.Dir, nil
}

// releases returns the release area of plan's target, auditing each
// platform command under the plan's workflow.
func (a *Activities) releases(ctx context.Context, p wf.Plan) (*release.Target, *Target, error) {
	t, err := a.target(p.Target)
	if err != nil {
		return nil, nil, err
	}
	r, err := a.runner(p.Target)
	if err != nil {
		return nil, nil, err
	}
	b, err := base(t)
	if err != nil {
		return nil, nil, err
	}
	if t.Kind == "local" {
		if err := os.MkdirAll(b, 0o755); err != nil {
			return nil, nil, fmt.Errorf("target %s: %w", p.Target, err)
		}
	}
	rt := &release.Target{Runner: r, Base: b, Env: cleanEnv(t, b), Timeout: 2 * time.Minute,
		Audit: func(ctx context.Context, step string, c remote.Command, res remote.Result, err error) {
			_ = a.audit(ctx, auditFor(p, step, c, res, err)) // logged; history has the outcome too
		}}
	return rt, t, nil
}

// cleanEnv is the environment every command starts from: nothing of the
// worker's, only PATH from the policy, a C locale and a HOME inside the
// target's base directory.
func cleanEnv(t *Target, base string) []string {
	return []string{"PATH=" + t.Policy.EnvPath(), "LANG=C.UTF-8", "HOME=" + filepath.Join(base, "home")}
}

// heartbeat records progress.
func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}

// keepBeating heartbeats every third of the heartbeat timeout until the
// returned stop is called, so a long command keeps its activity alive and
// a dead worker is noticed within the timeout.
func (a *Activities) keepBeating(ctx context.Context, what string) (stop func()) {
	heartbeat(ctx, what)
	every := a.Cfg.HeartbeatTimeout / 3
	if every <= 0 || !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, what)
			}
		}
	}()
	return func() { close(done) }
}
