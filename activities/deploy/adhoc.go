package deploy

import (
	"context"
	"fmt"

	"contextworker/modules/deploy/policy"
	wf "contextworker/workflows/deploy"
)

// Run runs an ad-hoc command (the deploy-exec workflow) in the target's
// current release, under the target's policy, audited. It is not retried
// once the command has run: its outcome, failing or not, is the result.
func (a *Activities) Run(ctx context.Context, in wf.ExecInput) (wf.ExecResult, error) {
	defer a.keepBeating(ctx, "run")()
	out := wf.ExecResult{Target: in.Target, Argv: in.Argv, ExitCode: -1}
	if err := in.Validate(); err != nil {
		return out, nonRetryable(wf.ErrInvalidInput, err)
	}
	t, err := a.target(in.Target)
	if err != nil {
		return out, err
	}
	if len(t.Tenants) > 0 && !contains(t.Tenants, in.TenantID) {
		return out, nonRetryable(wf.ErrInvalidInput, fmt.Errorf("target %q does not serve tenant %q", in.Target, in.TenantID))
	}
	p := wf.Plan{TenantID: in.TenantID, Target: in.Target, TargetKind: t.Kind, Requester: in.Requester}
	c := policy.Command{Step: "exec", Argv: in.Argv, Dir: in.Dir, Env: in.Env}
	// Refuse before touching the target: a refused command is audited
	// and never reaches it.
	if err := t.Policy.Check(c); err != nil {
		_ = a.audit(ctx, refusalRow(p, c, err))
		return out, nonRetryable(wf.ErrPolicyRefused, err)
	}
	rt, _, err := a.releases(ctx, p)
	if err != nil {
		return out, err
	}
	cur, err := rt.Current(ctx)
	if err != nil {
		return out, err
	}
	if cur == "" {
		return out, nonRetryable(wf.ErrInvalidInput, fmt.Errorf("target %s has no current release to run in", in.Target))
	}
	p.Release, out.Release = cur, cur
	res, err := a.runChecked(ctx, p, t, rt, c, nil)
	out.ExitCode, out.Duration, out.Tail = res.ExitCode, res.Duration, tail(res.Tail, 4096)
	if err != nil {
		return out, err
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
