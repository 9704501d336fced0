package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"contextworker/modules/deploy/policy"
	"contextworker/modules/deploy/release"
	wf "contextworker/workflows/deploy"
)

// Start starts the plan's release as the target's supervised process
// (stopping the one running), its start command checked and audited like
// any other.
func (a *Activities) Start(ctx context.Context, p wf.Plan) (out wf.StepOutcome, err error) {
	defer a.keepBeating(ctx, "start")()
	defer func() { a.Metrics.step("start", out.Skipped, err) }()
	out = wf.StepOutcome{Step: "start", Argv: p.Start.Argv}
	rt, t, err := a.releases(ctx, p)
	if err != nil {
		return out, err
	}
	pid, err := a.start(ctx, p, t, rt, p.Release, startSpec{Argv: p.Start.Argv, Dir: p.Start.Dir, Env: p.Start.Env, Secrets: p.Secrets, Port: p.Port})
	if err != nil {
		return out, err
	}
	out.Status, out.Detail = wf.StatusSucceeded, fmt.Sprintf("pid %d", pid)
	return out, nil
}

func (a *Activities) start(ctx context.Context, p wf.Plan, t *Target, rt *release.Target, rel string, s startSpec) (int, error) {
	c := policy.Command{Step: "start", Argv: s.Argv, Dir: s.Dir, Env: s.Env}
	if err := t.Policy.Check(c); err != nil {
		_ = a.audit(ctx, refusalRow(p, c, err))
		return 0, nonRetryable(wf.ErrPolicyRefused, err)
	}
	env, err := a.commandEnv(t, rt.Base, s.Env, s.Secrets, s.Port)
	if err != nil {
		return 0, err
	}
	argv := s.Argv
	if s.Dir != "" {
		// The supervisor starts in the release root; a subdirectory is
		// not supported for start commands.
		return 0, nonRetryable(wf.ErrPolicyRefused, fmt.Errorf("start: a working directory (%q) is not supported", s.Dir))
	}
	return rt.Start(ctx, rel, argv, env)
}

// Health probes the started release: GET its endpoint until it answers
// 2xx, Retries times Interval apart, each within Timeout. It fails
// non-retryably with the release's log tail when it never does.
func (a *Activities) Health(ctx context.Context, p wf.Plan) (out wf.StepOutcome, err error) {
	defer a.keepBeating(ctx, "health")()
	defer func() { a.Metrics.step("health", out.Skipped, err) }()
	out = wf.StepOutcome{Step: "health", Detail: p.Endpoint}
	if !p.Health.Enabled {
		out.Status, out.Skipped = wf.StatusSucceeded, true
		return out, nil
	}
	rt, _, err := a.releases(ctx, p)
	if err != nil {
		return out, err
	}
	if err := a.probe(ctx, p.Endpoint, p.Health); err != nil {
		log, _ := rt.Log(ctx, p.Release)
		out.Tail = tail(log, 1024)
		return out, nonRetryable(wf.ErrHealthCheck, fmt.Errorf("health check of %s: %w; log: %s", p.Endpoint, err, tail(log, 300)))
	}
	out.Status = wf.StatusSucceeded
	return out, nil
}

func (a *Activities) probe(ctx context.Context, url string, h wf.Health) error {
	var last error
	for i := 0; i < h.Retries; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(h.Interval):
			}
		}
		heartbeat(ctx, fmt.Sprintf("probe %d/%d", i+1, h.Retries))
		rctx, cancel := context.WithTimeout(ctx, h.Timeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		if err != nil {
			cancel()
			return err
		}
		resp, err := a.HTTP.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				cancel()
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		cancel()
		last = err
	}
	return fmt.Errorf("no healthy answer in %d tries: %w", h.Retries, last)
}

// Prune keeps the target's last keep_releases releases (never the current
// one or the one it replaced).
func (a *Activities) Prune(ctx context.Context, req wf.RollbackRequest) ([]string, error) {
	defer a.keepBeating(ctx, "prune")()
	rt, t, err := a.releases(ctx, req.Plan)
	if err != nil {
		return nil, err
	}
	return rt.Prune(ctx, t.KeepReleases, req.Plan.Release, req.Previous)
}

// Rollback is the compensation of a failed or cancelled deploy: when the
// current link was switched it goes back to the previous release and
// restarts it (as it was started, from its start.json) and probes it;
// with no previous release the new one is stopped and the link removed.
// It is idempotent: rerun, it finds the target already rolled back.
func (a *Activities) Rollback(ctx context.Context, req wf.RollbackRequest) (_ wf.RollbackResult, err error) {
	defer a.keepBeating(ctx, "rollback")()
	defer func() { a.Metrics.rollback(err) }()
	p := req.Plan
	var res wf.RollbackResult
	if !req.Switched && !req.Started {
		res.Detail = "nothing to undo: the current release was never switched"
		return res, nil
	}
	rt, t, err := a.releases(ctx, p)
	if err != nil {
		return res, err
	}
	if req.Previous == "" {
		if _, err := rt.Stop(ctx); err != nil {
			return res, err
		}
		if err := rt.Unlink(ctx); err != nil {
			return res, err
		}
		res.Detail = "no previous release: stopped the new one and removed the current link"
		return res, nil
	}
	if _, err := rt.Switch(ctx, req.Previous); err != nil {
		return res, err
	}
	res.RestoredRelease = req.Previous
	raw, err := rt.ReadFile(ctx, req.Previous, "start.json")
	if err != nil {
		return res, fmt.Errorf("rollback: how to start %s: %w", req.Previous, err)
	}
	var s startSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return res, fmt.Errorf("rollback: start.json of %s: %w", req.Previous, err)
	}
	if _, err := a.start(ctx, p, t, rt, req.Previous, s); err != nil {
		return res, fmt.Errorf("rollback: restart %s: %w", req.Previous, err)
	}
	res.Restarted = true
	if !s.Health.Enabled {
		res.Detail = "restarted " + req.Previous + " (no health check)"
		return res, nil
	}
	h := s.Health
	if h.Retries < 5 {
		h.Retries = 5
	}
	if h.Interval > 5*time.Second || h.Interval <= 0 {
		h.Interval = time.Second
	}
	url := strings.Replace(p.Endpoint, fmt.Sprintf(":%d%s", p.Port, p.Health.Endpoint), fmt.Sprintf(":%d%s", s.Port, h.Endpoint), 1)
	if err := a.probe(ctx, url, h); err != nil {
		res.Detail = fmt.Sprintf("restarted %s, but it does not answer %s: %v", req.Previous, url, err)
		return res, nil
	}
	res.Healthy = true
	res.Detail = fmt.Sprintf("switched back to %s, restarted it, and it answers %s", req.Previous, url)
	return res, nil
}
