package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	wf "contextworker/workflows/deploy"
)

// TestExecAdHoc: an allowed ad-hoc command runs in the current release
// and is audited; injection attempts are refused, audited, and never
// reach the target.
func TestExecAdHoc(t *testing.T) {
	s := newStack(t, "")
	defer s.stopApps()
	if _, err := s.deploy(s.input("local", "v1.0.0")); err != nil {
		t.Fatal(err)
	}
	exec := func(n int, argv []string, env map[string]string) (wf.ExecResult, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		in := wf.ExecInput{TenantID: "acme", Target: "local", Argv: argv, Env: env, Requester: "root@example.com"}
		run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("deploy-exec/acme/%d", n), TaskQueue: wf.TaskQueue}, wf.ExecWorkflowName, in)
		if err != nil {
			t.Fatal(err)
		}
		var res wf.ExecResult
		err = run.Get(ctx, &res)
		return res, err
	}
	res, err := exec(0, []string{"python3", "-m", "unittest", "-q", "test_app"}, map[string]string{"GREETING": "hi"})
	if err != nil || res.ExitCode != 0 || res.Release == "" {
		t.Fatalf("allowed command: %+v %v", res, err)
	}
	s.saveHistory("deploy-exec/acme/0", "deploy_exec_history_ran.json")
	attempts := []struct {
		argv []string
		env  map[string]string
		rule string
	}{
		{[]string{"python3", "app.py;id"}, nil, "arg.shell"},
		{[]string{"sh", "-c", "id"}, nil, "program.never"},
		{[]string{"python3", "-c", "import os"}, nil, "program.inline_code"},
		{[]string{"python3", "../../etc/passwd"}, nil, "arg.path"},
		{[]string{"python3", "app.py"}, map[string]string{"LD_PRELOAD": "x.so"}, "env.denied"},
		{[]string{"curl", "http://evil"}, nil, "program.allowed"},
		{[]string{"python3", "$(id)"}, nil, "arg.shell"},
		{[]string{"python3", "a\nb"}, nil, "arg.control"},
	}
	for i, a := range attempts {
		_, err := exec(i+1, a.argv, a.env)
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != wf.ErrPolicyRefused {
			t.Errorf("%q: %v, want refused", a.argv, err)
			continue
		}
		rows := s.audit(fmt.Sprintf("deploy-exec/acme/%d", i+1))
		if len(rows) != 1 || rows[0].phase != "refused" || rows[0].rule != a.rule || rows[0].requester != "root@example.com" {
			t.Errorf("%q audited as %+v, want one refusal by %s", a.argv, rows, a.rule)
		}
	}
	rows := s.audit("deploy-exec/acme/0")
	if len(rows) < 2 || rows[len(rows)-1].phase != "finished" || rows[len(rows)-1].exit == nil || *rows[len(rows)-1].exit != 0 {
		t.Errorf("allowed command audit: %+v", rows)
	}
}
