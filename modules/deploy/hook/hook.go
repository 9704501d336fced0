// Package hook turns a signed git push webhook into a deploy: it finds the
// configured hook of the pushed repository, verifies the request's
// X-Hub-Signature-256 (HMAC-SHA256 of the body with the hook's secret,
// compared in constant time) and says which deploy to start. Pure apart
// from resolving the secret ref; it never starts anything itself and
// never trusts the body before the signature checks out, beyond reading
// which repository it claims to be.
package hook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"contextworker/internal/ident"
	"contextworker/internal/secret"
	wf "contextworker/workflows/deploy"
)

// MaxBody bounds a webhook body; GitHub caps payloads at 25 MB, pushes
// are far smaller.
const MaxBody = 1 << 20

// SignatureHeader is the header carrying the body's HMAC.
const SignatureHeader = "X-Hub-Signature-256"

// Errors the HTTP layer maps to status codes.
var (
	// ErrBadSignature: 401, start nothing.
	ErrBadSignature = errors.New("hook: bad or missing signature")
	// ErrTooLarge: 413.
	ErrTooLarge = errors.New("hook: body too large")
	// ErrBadRequest: 400 (not a push event we can read).
	ErrBadRequest = errors.New("hook: not a push event")
	// ErrIgnored: 202, a verified push to a branch that deploys nothing.
	ErrIgnored = errors.New("hook: push ignored")
)

// Hook is one configured repository (modules.deploy.hooks[]).
type Hook struct {
	// Name identifies the hook in logs and as the deploy's requester.
	Name string `yaml:"name"`
	// Repository is the deploy's repository, as pushes name it
	// (clone_url, ssh_url or git_url).
	Repository string `yaml:"repository"`
	// Secret is the webhook secret's ref.
	Secret secret.Ref `yaml:"secret"`
	// Branch deploys on push (e.g. main).
	Branch string `yaml:"branch"`
	Tenant string `yaml:"tenant"`
	Target string `yaml:"target"`
	Module string `yaml:"module"`
}

// Validate checks a hook; path prefixes each problem.
func (h *Hook) Validate(path string) []error {
	var errs []error
	add := func(f, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", path, f, fmt.Sprintf(format, args...)))
	}
	if !ident.Valid(h.Name) {
		add("name", "%q must be 1-64 letters, digits, '_', '.' or '-'", h.Name)
	}
	if h.Repository == "" {
		add("repository", "required")
	}
	if h.Secret.IsZero() {
		add("secret", "required: a secret ref (env:, file:, credential:)")
	}
	if h.Branch == "" || strings.ContainsAny(h.Branch, " ~^:?*[\\") || strings.Contains(h.Branch, "..") {
		add("branch", "%q is not a branch name", h.Branch)
	}
	if !ident.Valid(h.Tenant) {
		add("tenant", "%q is not a tenant id", h.Tenant)
	}
	if !ident.Valid(h.Target) {
		add("target", "%q is not a target name", h.Target)
	}
	if h.Module != "" && !ident.Valid(h.Module) {
		add("module", "%q is not a module name", h.Module)
	}
	return errs
}

// Push is the part of a push event a deploy needs.
type Push struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		GitURL   string `json:"git_url"`
		FullName string `json:"full_name"`
	} `json:"repository"`
}

func (p Push) names(repo string) bool {
	for _, u := range []string{p.Repository.CloneURL, p.Repository.SSHURL, p.Repository.GitURL} {
		if u != "" && u == repo {
			return true
		}
	}
	return false
}

// Sign returns the X-Hub-Signature-256 value of body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks header (sha256=<hex>) against body's HMAC under key in
// constant time.
func Verify(key, body []byte, header string) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(key) == 0 {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

var shaRE = func(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return strings.Trim(s, "0") != ""
}

// Match verifies a push request against the configured hooks and returns
// the deploy to start: the hook's repository, tenant, target and module
// at the pushed commit, requested by "hook:<name>". Every hook naming the
// pushed repository is tried (a repository may deploy to several targets
// with different secrets); the first whose secret verifies wins.
func Match(hooks []Hook, env secret.Lookup, header string, body []byte) (wf.Input, error) {
	if len(body) > MaxBody {
		return wf.Input{}, ErrTooLarge
	}
	var p Push
	if err := json.Unmarshal(body, &p); err != nil {
		return wf.Input{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	var verified *Hook
	for i := range hooks {
		h := &hooks[i]
		if !p.names(h.Repository) {
			continue
		}
		key, err := h.Secret.Resolve(env)
		if err != nil {
			return wf.Input{}, fmt.Errorf("hook %s: %w", h.Name, err)
		}
		if Verify([]byte(key), body, header) == nil {
			verified = h
			break
		}
	}
	if verified == nil {
		// Unknown repository and wrong secret look alike to the caller.
		return wf.Input{}, ErrBadSignature
	}
	if p.Deleted || p.Ref != "refs/heads/"+verified.Branch {
		return wf.Input{}, fmt.Errorf("%w: %s is not refs/heads/%s (hook %s)", ErrIgnored, p.Ref, verified.Branch, verified.Name)
	}
	if !shaRE(p.After) {
		return wf.Input{}, fmt.Errorf("%w: after %q is not a commit", ErrBadRequest, p.After)
	}
	return wf.Input{TenantID: verified.Tenant, Repository: verified.Repository, Ref: p.After, Target: verified.Target,
		Module: verified.Module, Requester: "hook:" + verified.Name}, nil
}
