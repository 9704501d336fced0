package hook

import (
	"errors"
	"strings"
	"testing"

	"contextworker/internal/secret"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

func push(ref, repo string) []byte {
	return []byte(`{"ref":"` + ref + `","after":"` + commit + `","repository":{"clone_url":"` + repo + `","full_name":"acme/shop"}}`)
}

func TestMatch(t *testing.T) {
	env := func(k string) (string, bool) {
		return map[string]string{"SHOP_PROD": "prod-secret", "SHOP_STAGE": "stage-secret"}[k], true
	}
	hooks := []Hook{
		{Name: "shop-stage", Repository: "https://git.example/acme/shop.git", Secret: secret.Env("SHOP_STAGE"), Branch: "develop", Tenant: "acme", Target: "stage"},
		{Name: "shop-prod", Repository: "https://git.example/acme/shop.git", Secret: secret.Env("SHOP_PROD"), Branch: "main", Tenant: "acme", Target: "prod", Module: "shop"},
	}
	body := push("refs/heads/main", "https://git.example/acme/shop.git")
	in, err := Match(hooks, env, Sign([]byte("prod-secret"), body), body)
	if err != nil || in.Target != "prod" || in.Ref != commit || in.Requester != "hook:shop-prod" || in.Module != "shop" || in.TenantID != "acme" {
		t.Fatalf("Match = %+v, %v", in, err)
	}
	if err := in.Validate(); err != nil {
		t.Errorf("input from a hook does not validate: %v", err)
	}
	tests := []struct {
		name   string
		header string
		body   []byte
		want   error
	}{
		{"no signature", "", body, ErrBadSignature},
		{"wrong secret", Sign([]byte("guess"), body), body, ErrBadSignature},
		{"sha1 header", "sha1=" + strings.Repeat("0", 40), body, ErrBadSignature},
		{"not hex", "sha256=zz", body, ErrBadSignature},
		{"signature of another body", Sign([]byte("prod-secret"), push("refs/heads/main", "x")), body, ErrBadSignature},
		{"unknown repository", Sign([]byte("prod-secret"), push("refs/heads/main", "https://evil/x.git")), push("refs/heads/main", "https://evil/x.git"), ErrBadSignature},
		{"other branch", Sign([]byte("prod-secret"), push("refs/heads/feature", "https://git.example/acme/shop.git")), push("refs/heads/feature", "https://git.example/acme/shop.git"), ErrIgnored},
		{"not JSON", "sha256=00", []byte("<xml/>"), ErrBadRequest},
		{"too large", "", make([]byte, MaxBody+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Match(hooks, env, tt.header, tt.body)
			if !errors.Is(err, tt.want) {
				t.Errorf("Match = %+v, %v; want %v", in, err, tt.want)
			}
		})
	}
	// The stage hook's secret deploys the develop branch to stage.
	dev := push("refs/heads/develop", "https://git.example/acme/shop.git")
	if in, err := Match(hooks, env, Sign([]byte("stage-secret"), dev), dev); err != nil || in.Target != "stage" {
		t.Errorf("stage push: %+v %v", in, err)
	}
}

func TestVerifyConstantTimeAPI(t *testing.T) {
	body := []byte("payload")
	if err := Verify([]byte("k"), body, Sign([]byte("k"), body)); err != nil {
		t.Fatal(err)
	}
	if err := Verify(nil, body, Sign(nil, body)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("empty key accepted: %v", err)
	}
}

func TestHookValidate(t *testing.T) {
	h := Hook{Name: "bad name", Branch: "a..b", Tenant: "", Target: "t"}
	errs := h.Validate("hooks[0]")
	joined := errors.Join(errs...).Error()
	for _, want := range []string{"hooks[0].name", "hooks[0].repository: required", "hooks[0].secret: required", "hooks[0].branch", "hooks[0].tenant"} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in %s", want, joined)
		}
	}
}
