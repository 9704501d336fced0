package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.temporal.io/sdk/temporal"

	"contextworker/modules/deploy/manifest"
	"contextworker/modules/deploy/plan"
	"contextworker/modules/deploy/remote"
	wf "contextworker/workflows/deploy"
)

func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// gitEnv is git's whole environment: no prompts, no user or system
// config, only transports that cannot run commands (no ext::).
func gitEnv(home string) []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LANG=C", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_ALLOW_PROTOCOL=file:https:ssh:git", "GIT_ASKPASS=/bin/false"}
}

// git runs git on the worker, audited as a checkout command.
func (a *Activities) git(ctx context.Context, in wf.Input, dir string, args ...string) (string, error) {
	argv := append([]string{"git"}, args...)
	c := remote.Command{Argv: argv, Dir: dir, Env: gitEnv(a.Cfg.WorkspaceDir), Timeout: a.Cfg.GitTimeout, MaxOutput: 1 << 20}
	res, err := remote.Local{}.Run(ctx, c)
	p := wf.Plan{TenantID: in.TenantID, Target: in.Target, Requester: in.Requester}
	_ = a.audit(ctx, auditFor(p, "checkout", c, res, err))
	if err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("checkout: git %s exited %d: %s", args[0], res.ExitCode, strings.TrimSpace(res.Tail))
	}
	return strings.TrimSpace(res.Tail), nil
}

// workspace is where commit of repo is checked out on a worker.
func (a *Activities) workspace(repo, commit string) (string, error) {
	ws, err := filepath.Abs(a.Cfg.WorkspaceDir)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(repo))
	return filepath.Join(ws, hex.EncodeToString(h[:8]), commit), nil
}

// Checkout fetches the repository, resolves ref to a commit and detects
// the tier. The tree lands in a workspace keyed by repository and commit,
// so a retry (or another worker, see ensureWorkspace) finds or rebuilds it.
func (a *Activities) Checkout(ctx context.Context, in wf.Input) (_ wf.Source, err error) {
	defer a.keepBeating(ctx, "checkout")()
	defer func() { a.Metrics.step("checkout", false, err) }()
	if err := in.Validate(); err != nil {
		return wf.Source{}, nonRetryable(wf.ErrInvalidInput, err)
	}
	if err := a.Cfg.Check(in); err != nil {
		return wf.Source{}, nonRetryable(wf.ErrInvalidInput, err)
	}
	commit, dir, err := a.fetch(ctx, in, in.Ref)
	if err != nil {
		return wf.Source{}, err
	}
	src := wf.Source{Repository: in.Repository, Ref: in.Ref, Commit: commit}
	if err := detect(dir, in.ModuleName(), &src); err != nil {
		return src, err
	}
	return src, nil
}

// fetch clones repo and checks out ref (a branch, tag or commit) into the
// workspace; it returns the commit and the directory.
func (a *Activities) fetch(ctx context.Context, in wf.Input, ref string) (string, string, error) {
	if err := os.MkdirAll(a.Cfg.WorkspaceDir, 0o755); err != nil {
		return "", "", fmt.Errorf("checkout: %w", err)
	}
	tmp, err := os.MkdirTemp(a.Cfg.WorkspaceDir, "clone-")
	if err != nil {
		return "", "", fmt.Errorf("checkout: %w", err)
	}
	defer os.RemoveAll(tmp)
	heartbeat(ctx, "cloning")
	if _, err := a.git(ctx, in, tmp, "clone", "--quiet", "--no-checkout", "--", in.Repository, "src"); err != nil {
		return "", "", err
	}
	src := filepath.Join(tmp, "src")
	var commit string
	for _, cand := range []string{"origin/" + ref, ref} {
		if commit, err = a.git(ctx, in, src, "rev-parse", "--verify", "--quiet", "--end-of-options", cand+"^{commit}"); err == nil && commitRE.MatchString(commit) {
			break
		}
	}
	if !commitRE.MatchString(commit) {
		return "", "", nonRetryable(wf.ErrInvalidInput, fmt.Errorf("checkout: ref %q is not a branch, tag or commit of %s", ref, in.Repository))
	}
	dir, err := a.workspace(in.Repository, commit)
	if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(dir); err == nil {
		return commit, dir, nil // an earlier attempt or another run checked it out
	}
	if _, err := a.git(ctx, in, src, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", "", fmt.Errorf("checkout: %w", err)
	}
	if err := os.Rename(src, dir); err != nil && !errors.Is(err, os.ErrExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return "", "", fmt.Errorf("checkout: %w", err)
		}
	}
	return commit, dir, nil
}

// ensureWorkspace returns the checkout of src, fetching it again when this
// worker does not have it (activities may run on any worker).
func (a *Activities) ensureWorkspace(ctx context.Context, p wf.Plan) (string, error) {
	dir, err := a.workspace(p.Source.Repository, p.Source.Commit)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	in := wf.Input{TenantID: p.TenantID, Target: p.Target, Repository: p.Source.Repository, Requester: p.Requester}
	commit, dir, err := a.fetch(ctx, in, p.Source.Commit)
	if err != nil {
		return "", err
	}
	if commit != p.Source.Commit {
		return "", fmt.Errorf("checkout: %s resolved to %s", p.Source.Commit, commit)
	}
	return dir, nil
}

// detect reads the tier: ai-module.yaml (tier 1, validated strictly) or a
// detected stack (tier 2).
func detect(dir, module string, src *wf.Source) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	defer root.Close()
	if m, err := readManifest(root); err != nil {
		return err
	} else if m != nil {
		src.Tier, src.ManifestName = wf.Tier1, m.Name
		return nil
	}
	st, err := plan.Detect(root.FS(), module)
	if err != nil {
		return nonRetryable(wf.ErrBadManifest, fmt.Errorf("tier 2: %w", err))
	}
	src.Tier, src.Stack = wf.Tier2, st.Name
	return nil
}

// readManifest returns the repository's manifest, nil when it has none,
// or a non-retryable error listing every problem.
func readManifest(root *os.Root) (*manifest.Manifest, error) {
	f, err := root.Open(manifest.FileName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, nonRetryable(wf.ErrBadManifest, fmt.Errorf("%s: %w", manifest.FileName, err))
	}
	defer f.Close()
	b := make([]byte, manifest.MaxBytes+1)
	n, _ := readFull(f, b)
	m, err := manifest.Parse(manifest.FileName, b[:n])
	if err != nil {
		return nil, nonRetryable(wf.ErrBadManifest, err)
	}
	return m, nil
}

func readFull(f *os.File, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := f.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
