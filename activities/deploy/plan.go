package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"contextworker/modules/deploy/manifest"
	"contextworker/modules/deploy/policy"
	"contextworker/modules/deploy/release"
	wf "contextworker/workflows/deploy"
)

// promptNote is what the result says of a task prompt when no LLM planner
// is configured.
const promptNote = "task_prompt recorded with the plan but not used: no LLM planner is configured for deploy; the plan comes from the rules planner"

// promptNoteTier1 is what it says when the repository's ai-module.yaml
// decides the plan: the LLM planner only plans tier-2 repositories.
const promptNoteTier1 = "task_prompt recorded with the plan but not used: the repository's ai-module.yaml gives the plan (the LLM planner plans only repositories without one)"

// Plan turns the checked-out source into the deploy's plan: the
// manifest's commands (tier 1) or the rules planner's (tier 2), the
// environment, secrets by name, the health check and the endpoint.
func (a *Activities) Plan(ctx context.Context, req wf.PlanRequest) (wf.Plan, error) {
	defer a.keepBeating(ctx, "plan")()
	in := req.Input
	t, err := a.target(in.Target)
	if err != nil {
		return wf.Plan{}, err
	}
	p := wf.Plan{TenantID: in.TenantID, Target: in.Target, TargetKind: t.Kind, Module: in.ModuleName(),
		Source: req.Source, Requester: in.Requester, RollbackEnabled: true}
	p.WorkflowID = wf.WorkflowID(in.TenantID, in.Target, p.Module)
	dir, err := a.ensureWorkspace(ctx, p)
	if err != nil {
		return p, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return p, fmt.Errorf("plan: %w", err)
	}
	defer root.Close()
	env := map[string]string{}
	switch req.Source.Tier {
	case wf.Tier1:
		m, err := readManifest(root)
		if err != nil {
			return p, err
		}
		if m == nil {
			return p, errors.New("plan: ai-module.yaml vanished from the checkout")
		}
		if m.DeploymentTarget != "" && m.DeploymentTarget != t.Kind {
			return p, nonRetryable(wf.ErrPolicyRefused, fmt.Errorf("plan: the manifest wants a %s target and %s is %s", m.DeploymentTarget, in.Target, t.Kind))
		}
		p.Version = m.Version
		p.Commands = append(p.Commands, policy.Command{Step: "build", Argv: m.BuildCommand})
		if m.TestCommand != nil {
			p.Commands = append(p.Commands, policy.Command{Step: "test", Argv: m.TestCommand})
		}
		p.Start = policy.Command{Step: "start", Argv: m.StartCommand}
		p.Port, p.Secrets, p.RollbackEnabled = m.Port, m.Secrets, m.RollbackEnabled
		h := m.HealthCheck
		p.Health = wf.Health{Enabled: h.Enabled, Endpoint: h.Endpoint, Interval: time.Duration(h.Interval) * time.Second,
			Timeout: time.Duration(h.Timeout) * time.Second, Retries: h.Retries}
		for k, v := range m.EnvironmentVariables {
			env[k] = v
		}
	default:
		st, prompt, err := a.tier2(ctx, root, p.Module, in.TaskPrompt)
		if err != nil {
			return p, err
		}
		p.Prompt = prompt
		p.Version = "0.0.0+" + req.Source.Commit[:12]
		for _, argv := range st.Build {
			p.Commands = append(p.Commands, policy.Command{Step: "build", Argv: argv})
		}
		for _, argv := range st.Test {
			p.Commands = append(p.Commands, policy.Command{Step: "test", Argv: argv})
		}
		p.Start = policy.Command{Step: "start", Argv: st.Start}
		p.Port = manifest.DefaultPort
		p.Health = wf.Health{Enabled: true, Endpoint: manifest.DefaultHealthEndpoint, Interval: manifest.DefaultHealthInterval * time.Second,
			Timeout: manifest.DefaultHealthTimeout * time.Second, Retries: manifest.DefaultHealthRetries}
	}
	for k, v := range in.Env {
		env[k] = v
	}
	if len(env) > 0 {
		for i := range p.Commands {
			p.Commands[i].Env = env
		}
		p.Start.Env = env
	}
	p.Release = release.Name(p.Version, req.StartedAt)
	p.CommandTimeout, p.HeartbeatTimeout = t.Policy.CommandTimeout, a.Cfg.HeartbeatTimeout
	if t.ApprovePlans {
		p.ApprovalTimeout = a.Cfg.ApprovalTimeout
	}
	p.Endpoint = fmt.Sprintf("http://%s:%d%s", t.HealthHost, p.Port, p.Health.Endpoint)
	if in.TaskPrompt != "" && p.Prompt == nil {
		p.Prompt = &wf.Prompt{Text: in.TaskPrompt, Used: false, Note: promptNoteTier1}
	}
	return p, nil
}

// Validate checks the whole plan against the target's policy before
// anything runs: every command (the start command too), the secrets it
// names, and (on the checked-out tree, through os.Root) symlinks that
// escape. Each refusal is audited; the error names every rule.
func (a *Activities) Validate(ctx context.Context, p wf.Plan) error {
	defer a.keepBeating(ctx, "validate")()
	t, err := a.target(p.Target)
	if err != nil {
		return err
	}
	cmds := append(slices.Clone(p.Commands), p.Start)
	var errs []error
	refuse := func(c policy.Command, err error) {
		errs = append(errs, err)
		if aerr := a.audit(ctx, refusalRow(p, c, err)); aerr != nil {
			errs = append(errs, aerr)
		}
	}
	if len(cmds) > t.Policy.MaxCommands {
		refuse(policy.Command{Step: "plan"}, t.Policy.CheckPlan(cmds))
	}
	dir, err := a.ensureWorkspace(ctx, p)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	defer root.Close()
	for _, c := range cmds {
		if err := t.Policy.Check(c); err != nil {
			refuse(c, err)
			continue
		}
		if err := policy.CheckFiles(root, c); err != nil {
			refuse(c, err)
		}
	}
	names := slices.Clone(p.Secrets)
	sort.Strings(names)
	for _, s := range names {
		if _, ok := t.Secrets[s]; !ok {
			refuse(policy.Command{Step: "secrets"}, &policy.Refusal{Step: "secrets", Rule: "secret.unknown",
				Detail: fmt.Sprintf("the manifest asks for secret %s, which target %s does not define", s, p.Target)})
		}
	}
	if len(errs) > 0 {
		return nonRetryable(wf.ErrPolicyRefused, errors.Join(errs...))
	}
	return nil
}
