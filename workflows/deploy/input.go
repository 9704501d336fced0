package deploy

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"contextworker/internal/ident"
)

// Input is the workflow input (JSON).
type Input struct {
	TenantID string `json:"tenant_id"`
	// Repository is a git URL (https, ssh, git) or a local path on the
	// worker, allowed by modules.deploy.repositories. Credentials never go
	// in it: history is not secret.
	Repository string `json:"repository"`
	// Ref is a branch, tag or commit.
	Ref string `json:"ref"`
	// Target names a target of modules.deploy.targets.
	Target string `json:"target"`
	// Module names the deployed module in the workflow id; default the
	// repository's directory name (without .git).
	Module string `json:"module,omitempty"`
	// TaskPrompt goes to the LLM planner when one is configured; without
	// one it is recorded with the plan, and the result says so.
	TaskPrompt string `json:"task_prompt,omitempty"`
	// Env adds variables the target's policy allows (env_allow). Values
	// are recorded in history: secrets go through the manifest's secrets.
	Env map[string]string `json:"env,omitempty"`
	// Requester is the JWT subject the starter sets; recorded in the audit.
	Requester string `json:"requester,omitempty"`
}

// MaxPromptBytes bounds task_prompt.
const MaxPromptBytes = 8 << 10

var refRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)

// Validate checks the input; every problem names its field.
func (in *Input) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := ident.Check("tenant_id", in.TenantID); err != nil {
		errs = append(errs, err)
	}
	if err := ident.Check("target", in.Target); err != nil {
		errs = append(errs, err)
	}
	if err := checkRepository(in.Repository); err != nil {
		errs = append(errs, err)
	}
	if !refRE.MatchString(in.Ref) || strings.Contains(in.Ref, "..") {
		add("ref: %q must be a branch, tag or commit (letters, digits, '.', '_', '/', '-'; no '..')", in.Ref)
	}
	if in.Module != "" {
		if err := ident.Check("module", in.Module); err != nil {
			errs = append(errs, err)
		}
	} else if in.Repository != "" && !ident.Valid(RepoModule(in.Repository)) {
		add("module: the repository's name %q can not name a module; set module", RepoModule(in.Repository))
	}
	if len(in.TaskPrompt) > MaxPromptBytes {
		add("task_prompt: %d bytes, more than the %d allowed", len(in.TaskPrompt), MaxPromptBytes)
	}
	if len(in.Env) > 64 {
		add("env: %d variables, more than 64", len(in.Env))
	}
	if len(in.Requester) > 256 {
		add("requester: longer than 256 bytes")
	}
	return errors.Join(errs...)
}

func checkRepository(repo string) error {
	switch {
	case repo == "":
		return errors.New("repository: required (a git URL or a path on the worker)")
	case len(repo) > 1024 || strings.ContainsAny(repo, " \t\r\n\x00"):
		return fmt.Errorf("repository: %q is not a repository URL or path", repo)
	case strings.HasPrefix(repo, "-"):
		return fmt.Errorf("repository: %q must not start with '-'", repo)
	case strings.Contains(repo, "::"):
		return fmt.Errorf("repository: %q uses a git remote helper, which is not allowed", repo)
	}
	isURL := strings.Contains(repo, "://")
	scpLike := !isURL && strings.Contains(repo, ":") && strings.Index(repo, ":") < strings.IndexByte(repo+"/", '/')
	if !isURL && !scpLike && !strings.HasPrefix(repo, "/") {
		return fmt.Errorf("repository: %q must be a git URL or an absolute path on the worker", repo)
	}
	if u, err := url.Parse(repo); err == nil && u.Scheme != "" && u.User != nil {
		if _, hasPass := u.User.Password(); hasPass || u.Scheme == "https" || u.Scheme == "http" {
			return errors.New("repository: holds credentials; history is not secret: use a credential helper or an SSH key on the worker")
		}
	}
	return nil
}

// RepoModule is the module name a repository gives by default: its last
// path element without .git.
func RepoModule(repo string) string {
	r := strings.TrimRight(repo, "/")
	if i := strings.LastIndexAny(r, "/:"); i >= 0 {
		r = r[i+1:]
	}
	return strings.TrimSuffix(path.Base(r), ".git")
}

// ModuleName is the module the run deploys: in.Module, or the
// repository's name.
func (in *Input) ModuleName() string {
	if in.Module != "" {
		return in.Module
	}
	return RepoModule(in.Repository)
}

// WorkflowID is the id of the one deploy that may run for a tenant's
// module on a target at a time.
func WorkflowID(tenant, target, module string) string {
	return "deploy/" + tenant + "/" + target + "/" + module
}

// IDTenant returns the tenant of a deploy workflow id.
func IDTenant(id string) (string, bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[0] != WorkflowName || !ident.Valid(parts[1]) || !ident.Valid(parts[2]) || !ident.Valid(parts[3]) {
		return "", false
	}
	return parts[1], true
}
