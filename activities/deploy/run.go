package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"contextworker/modules/deploy/policy"
	"contextworker/modules/deploy/release"
	"contextworker/modules/deploy/remote"
	wf "contextworker/workflows/deploy"
)

// Prepare ships the checked-out tree to the target as the plan's release
// (idempotent: a complete release is kept) and records how to start it,
// for a later rollback to this release.
func (a *Activities) Prepare(ctx context.Context, p wf.Plan) (out wf.StepOutcome, err error) {
	defer a.keepBeating(ctx, "prepare")()
	defer func() { a.Metrics.step("prepare", out.Skipped, err) }()
	out = wf.StepOutcome{Step: "prepare", Detail: p.Release}
	rt, _, err := a.releases(ctx, p)
	if err != nil {
		return out, err
	}
	dir, err := a.ensureWorkspace(ctx, p)
	if err != nil {
		return out, err
	}
	tarball := release.Tarball(dir, a.Cfg.MaxSourceBytes)
	defer tarball.Close()
	created, err := rt.Prepare(ctx, p.Release, tarball)
	if errors.Is(err, release.ErrTooLarge) {
		return out, nonRetryable(wf.ErrInvalidInput, err)
	}
	if err != nil {
		return out, err
	}
	spec, err := json.Marshal(startSpec{Argv: p.Start.Argv, Dir: p.Start.Dir, Env: p.Start.Env, Secrets: p.Secrets, Port: p.Port, Health: p.Health})
	if err != nil {
		return out, err
	}
	if err := rt.WriteFile(ctx, p.Release, "start.json", bytes.NewReader(spec)); err != nil {
		return out, err
	}
	out.Status, out.Skipped = wf.StatusSucceeded, !created
	return out, nil
}

// startSpec is how a release is started, kept beside it on the target so
// a rollback restarts it as it was deployed. Secrets are names only.
type startSpec struct {
	Argv    []string          `json:"argv"`
	Dir     string            `json:"dir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Secrets []string          `json:"secrets,omitempty"`
	Port    int               `json:"port"`
	Health  wf.Health         `json:"health"`
}

// commandEnv is the complete environment of a plan command: the clean
// base, PORT, the allowed variables and the resolved secrets.
func (a *Activities) commandEnv(t *Target, b string, env map[string]string, secrets []string, port int) ([]string, error) {
	out := cleanEnv(t, b)
	if port > 0 {
		out = append(out, "PORT="+strconv.Itoa(port))
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	for _, s := range secrets {
		ref, ok := t.Secrets[s]
		if !ok {
			return nil, nonRetryable(wf.ErrPolicyRefused, fmt.Errorf("secret %s is not defined on the target", s))
		}
		v, err := ref.Resolve(a.Env)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s, err)
		}
		out = append(out, s+"="+v)
	}
	return out, nil
}

// Exec runs command Index of the plan in the release: checked against the
// policy again (the config may have changed since Validate), symlinks
// checked through os.Root on local targets, audited before and after, and
// marked done on the target once it succeeded, so a retry after a worker
// crash skips it rather than running it twice.
func (a *Activities) Exec(ctx context.Context, req wf.ExecRequest) (out wf.StepOutcome, err error) {
	defer a.keepBeating(ctx, "exec")()
	defer func() { a.Metrics.step(out.Step, out.Skipped, err) }()
	p := req.Plan
	if req.Index < 0 || req.Index >= len(p.Commands) {
		return wf.StepOutcome{}, nonRetryable(wf.ErrInvalidInput, fmt.Errorf("exec: no command %d", req.Index))
	}
	c := p.Commands[req.Index]
	out = wf.StepOutcome{Step: c.Step, Argv: c.Argv}
	stepKey := fmt.Sprintf("%s-%d", c.Step, req.Index)
	rt, t, err := a.releases(ctx, p)
	if err != nil {
		return out, err
	}
	if done, err := rt.Done(ctx, p.Release, stepKey); err != nil {
		return out, err
	} else if done {
		out.Status, out.Skipped, out.Detail = wf.StatusSucceeded, true, "already done by an earlier attempt"
		return out, nil
	}
	res, err := a.runChecked(ctx, p, t, rt, c, p.Secrets)
	code := res.ExitCode
	out.ExitCode, out.Duration, out.Tail = &code, res.Duration, tail(res.Tail, 1024)
	if err != nil {
		return out, err
	}
	if res.ExitCode != 0 {
		return out, nonRetryable(wf.ErrCommandFailed, fmt.Errorf("%s: %s exited %d: %s", c.Step, c.Argv[0], res.ExitCode, tail(res.Tail, 512)))
	}
	if err := rt.MarkDone(ctx, p.Release, stepKey); err != nil {
		return out, err
	}
	out.Status = wf.StatusSucceeded
	return out, nil
}

// runChecked runs a plan command in the release directory under the
// policy, with started and finished audit rows.
func (a *Activities) runChecked(ctx context.Context, p wf.Plan, t *Target, rt *release.Target, c policy.Command, secrets []string) (remote.Result, error) {
	if err := t.Policy.Check(c); err != nil {
		_ = a.audit(ctx, refusalRow(p, c, err))
		return remote.Result{ExitCode: -1}, nonRetryable(wf.ErrPolicyRefused, err)
	}
	dir := rt.Dir(p.Release)
	if t.Kind == "local" {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return remote.Result{ExitCode: -1}, fmt.Errorf("exec: %w", err)
		}
		err = policy.CheckFiles(root, c)
		root.Close()
		if err != nil {
			_ = a.audit(ctx, refusalRow(p, c, err))
			return remote.Result{ExitCode: -1}, nonRetryable(wf.ErrPolicyRefused, err)
		}
	}
	env, err := a.commandEnv(t, rt.Base, c.Env, secrets, p.Port)
	if err != nil {
		return remote.Result{ExitCode: -1}, err
	}
	rc := remote.Command{Argv: c.Argv, Dir: path.Join(dir, c.Dir), Env: env, Timeout: t.Policy.CommandTimeout, MaxOutput: t.Policy.MaxOutputBytes}
	started := auditFor(p, c.Step, rc, remote.Result{}, nil)
	started.Phase, started.ExitCode = PhaseStarted, nil
	if err := a.audit(ctx, started); err != nil {
		return remote.Result{ExitCode: -1}, err // nothing runs unaudited
	}
	r, err := a.runner(p.Target)
	if err != nil {
		return remote.Result{ExitCode: -1}, err
	}
	res, err := r.Run(ctx, rc)
	_ = a.audit(ctx, auditFor(p, c.Step, rc, res, err))
	if errors.Is(err, remote.ErrTimeout) || errors.Is(err, remote.ErrOutputCap) {
		return res, nonRetryable(wf.ErrCommandFailed, fmt.Errorf("%s: %w", c.Step, err))
	}
	return res, err
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + clip(s, n)
	}
	return s
}

// Switch points the target's current link at the plan's release and
// returns the release it left (for the rollback).
func (a *Activities) Switch(ctx context.Context, p wf.Plan) (_ wf.SwitchResult, err error) {
	defer a.keepBeating(ctx, "switch")()
	defer func() { a.Metrics.step("switch", false, err) }()
	rt, _, err := a.releases(ctx, p)
	if err != nil {
		return wf.SwitchResult{}, err
	}
	// The release it replaces is written down before the switch: a retry
	// after a switch whose result was lost finds current already moved and
	// reads the previous release back, so the rollback still knows it.
	cur, err := rt.Current(ctx)
	if err != nil {
		return wf.SwitchResult{}, err
	}
	if cur == p.Release {
		raw, err := rt.ReadFile(ctx, p.Release, "previous")
		if err != nil {
			return wf.SwitchResult{}, fmt.Errorf("switch: already switched, and the previous release is unknown: %w", err)
		}
		return wf.SwitchResult{Previous: strings.TrimSpace(string(raw))}, nil
	}
	if err := rt.WriteFile(ctx, p.Release, "previous", strings.NewReader(cur+"\n")); err != nil {
		return wf.SwitchResult{}, err
	}
	prev, err := rt.Switch(ctx, p.Release)
	return wf.SwitchResult{Previous: prev}, err
}
