package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	acts "contextworker/activities/deploy"
	"contextworker/internal/config"
	_ "contextworker/modules/all"
	"contextworker/registry"
	wf "contextworker/workflows/deploy"
)

// TestRepoConfig: the deploy section of the repository's temporal.yaml
// parses strictly, and its targets are what docs/deploy.md describes.
func TestRepoConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "temporal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The whole file, every module's section, as the worker reads it.
	cfg, err := config.Parse("temporal.yaml", b, registry.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dc, ok := cfg.Module("deploy").(*acts.Config)
	if !ok {
		t.Fatalf("deploy config: %T", cfg.Module("deploy"))
	}
	local, loop := dc.Targets["local"], dc.Targets["loopback"]
	if local == nil || local.Kind != "local" || loop == nil || loop.Kind != "ssh" || loop.SSH.KnownHosts == "" || loop.HealthHost != "127.0.0.1" {
		t.Fatalf("targets: %+v %+v", local, loop)
	}
	if local.Policy.CommandTimeout == 0 || local.Policy.MaxArgs == 0 {
		t.Errorf("policy defaults not applied: %+v", local.Policy)
	}
}

func TestConfigErrors(t *testing.T) {
	yml := `modules:
  deploy:
    repositories: ["-x"]
    targets:
      a:
        kind: kubernetes
        dir: /srv/a
      b:
        kind: ssh
        dir: relative
        policy: {allowed_programs: [bash], env_allow: [LD_PRELOAD], colour: red}
      c:
        kind: local
        dir: /
        keep_releases: 1
`
	cfg, err := config.Parse("t.yaml", []byte(yml), newRegistry())
	if err == nil {
		err = cfg.Validate()
	}
	for _, want := range []string{
		`unknown key "colour"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	yml = strings.Replace(yml, ", colour: red", "", 1)
	cfg, err = config.Parse("t.yaml", []byte(yml), newRegistry())
	if err == nil {
		err = cfg.Validate()
	}
	for _, want := range []string{
		`repositories[0]: "-x" is not a repository prefix`,
		`targets.a.kind: "kubernetes" is not supported`,
		`targets.b.ssh: required for kind ssh`,
		`targets.b.policy.allowed_programs[0]: "bash" runs other commands`,
		`targets.b.policy.env_allow[0]: "LD_PRELOAD"`,
		`targets.c.dir: "/" must be a directory other than /`,
		`targets.c.keep_releases: must be >= 2`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestCheck(t *testing.T) {
	reg := newRegistry()
	m, _ := reg.Lookup("deploy")
	w := m.Workflows()[0]
	yml := `modules:
  deploy:
    repositories: [/srv/repos/]
    targets:
      prod: {kind: local, dir: /srv/prod, tenants: [acme], policy: {allowed_programs: [make], env_allow: [MODE]}}
`
	cfg, err := config.Parse("t.yaml", []byte(yml), reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := cfg.Module("deploy").(*acts.Config)
	tests := []struct {
		name string
		in   wf.Input
		want []string
	}{
		{"ok", wf.Input{TenantID: "acme", Repository: "/srv/repos/shop", Ref: "main", Target: "prod", Env: map[string]string{"MODE": "x"}}, nil},
		{"everything wrong", wf.Input{TenantID: "evil", Repository: "/srv/reposX/shop", Ref: "main", Target: "prod", Env: map[string]string{"LD_PRELOAD": "x", "OTHER": "y"}},
			[]string{`target: "prod" does not serve tenant "evil"`, `repository: "/srv/reposX/shop" is not under`, "env.LD_PRELOAD", "env.OTHER"}},
		{"unknown target", wf.Input{TenantID: "acme", Repository: "/srv/repos/shop", Ref: "main", Target: "nope"}, []string{`target: "nope" is not configured (known: prod)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.Check(c, &tt.in)
			if tt.want == nil && err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("missing %q in %v", want, err)
				}
			}
		})
	}
	if id := w.ID(&tests[0].in); id != "deploy/acme/prod/shop" {
		t.Errorf("ID = %q", id)
	}
	if tenant, ok := w.OwnerOfID("deploy/acme/prod/shop"); !ok || tenant != "acme" {
		t.Errorf("OwnerOfID = %q %v", tenant, ok)
	}
}
