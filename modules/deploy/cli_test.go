package deploy_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"contextworker/modules/deploy"
)

func TestValidateCommand(t *testing.T) {
	good := filepath.Join("testdata", "sample-app", "ai-module.yaml")
	bad := filepath.Join("manifest", "testdata", "many.bad.yaml")
	var out bytes.Buffer
	if err := deploy.Validate(&out, []string{good}); err != nil || out.String() != good+": ok\n" {
		t.Errorf("good file: %v\n%s", err, out.String())
	}
	out.Reset()
	err := deploy.Validate(&out, []string{good, bad, "missing.yaml"})
	if !errors.Is(err, deploy.ErrInvalidManifest) || !strings.Contains(err.Error(), "2 of 3 files") {
		t.Errorf("err = %v", err)
	}
	for _, want := range []string{good + ": ok", bad + `:7: port: 70000 is out of range`, bad + ":17: colour: unknown field", "missing.yaml: open missing.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), bad+":"); n != 17 {
		t.Errorf("%d lines for %s, want its 17 problems", n, bad)
	}
}

func TestCommandRuns(t *testing.T) {
	app := &cli.App{Name: "worker", Commands: []*cli.Command{deploy.Command()}}
	var out bytes.Buffer
	app.Writer = &out
	err := app.Run([]string{"worker", "deploy", "validate", filepath.Join("manifest", "testdata", "list.bad.yaml")})
	if !errors.Is(err, deploy.ErrInvalidManifest) || !strings.Contains(out.String(), "must be a mapping of fields") {
		t.Errorf("err %v, output %q", err, out.String())
	}
}
