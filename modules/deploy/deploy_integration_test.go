package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	wf "contextworker/workflows/deploy"
)

// TestDeployThenRollback deploys the sample app to each target, checks it
// answers, then deploys a broken version: the health check fails, the
// saga switches back and restarts 1.0.0, which keeps answering.
func TestDeployThenRollback(t *testing.T) {
	s := newStack(t, "")
	s.commitVersion("sample-app-broken", "2.0.0", 3)
	for _, target := range []string{"local", "loop"} {
		t.Run(target, func(t *testing.T) {
			defer s.stopApps()
			rep, err := s.deploy(s.input(target, "v1.0.0"))
			if err != nil {
				t.Fatalf("deploy v1.0.0: %v", err)
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/health", s.port)
			if rep.Status != wf.StatusSucceeded || rep.Endpoint != url || rep.Plan == nil || rep.Plan.Source.Tier != wf.Tier1 {
				t.Fatalf("report: %+v", rep)
			}
			if body, err := get(url); err != nil || body != "ok 1.0.0" {
				t.Fatalf("GET %s = %q, %v", url, body, err)
			}
			if target == "local" {
				s.saveHistory(rep.WorkflowID, "deploy_history_succeeded.json")
			}
			if body, err := get(strings.TrimSuffix(url, "health")); err != nil || body != "hello, world" {
				t.Errorf("GET / = %q, %v (GREETING from the manifest)", body, err)
			}
			var steps []string
			for _, st := range rep.Steps {
				steps = append(steps, st.Step+":"+st.Status)
			}
			if got, want := strings.Join(steps, " "), "checkout:succeeded validate:succeeded prepare:succeeded build:succeeded test:succeeded release:succeeded start:succeeded health:succeeded prune:succeeded"; got != want {
				t.Errorf("steps:\n got %s\nwant %s", got, want)
			}

			// The broken version rolls back; 1.0.0 keeps serving.
			rep2, err := s.deploy(s.input(target, "v2.0.0"))
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != wf.ErrHealthCheck {
				t.Fatalf("deploy v2.0.0: %v, want a %s failure; report %+v", err, wf.ErrHealthCheck, rep2)
			}
			var failed wf.Report
			if err := app.Details(&failed); err != nil {
				t.Fatalf("details: %v", err)
			}
			if failed.Status != wf.StatusRolledBack || failed.Rollback == nil || !failed.Rollback.Healthy ||
				!strings.HasPrefix(failed.Rollback.RestoredRelease, "1.0.0-") || !strings.Contains(failed.Error, "cannot start") {
				t.Errorf("rolled-back report: status %s, rollback %+v, error %q", failed.Status, failed.Rollback, failed.Error)
			}
			if body, err := get(url); err != nil || body != "ok 1.0.0" {
				t.Errorf("after the rollback GET %s = %q, %v; want 1.0.0 serving", url, body, err)
			}
			if target == "local" {
				s.saveHistory(failed.WorkflowID, "deploy_history_rolled_back.json")
			}

			rows := s.audit(wf.WorkflowID("acme", target, "sample-app"))
			var build, started, refused int
			for _, r := range rows {
				if r.requester != "alice@example.com" {
					t.Errorf("audit row %+v without the requester", r)
				}
				if r.step == "build" && r.phase == "finished" && r.exit != nil && *r.exit == 0 {
					build++
				}
				if r.phase == "started" {
					started++
				}
				if r.phase == "refused" {
					refused++
				}
			}
			if build != 2 || started < 4 || refused != 0 {
				t.Errorf("audit: %d finished builds (want 2, one per deploy), %d started rows, %d refusals of %d rows", build, started, refused, len(rows))
			}
		})
	}
}

// TestDeployRefusedByPolicy: a manifest whose commands break the policy
// is refused before anything runs, naming the rules, and audited.
func TestDeployRefusedByPolicy(t *testing.T) {
	s := newStack(t, "")
	mf := `name: sample-app
version: 4.0.0
description: hostile
module_type: web_app
build_command: ["python3", "-c", "print(1)"]
test_command: "python3 test_app.py;curl evil"
start_command: [sh, -c, "python3 app.py"]
environment_variables: {LD_PRELOAD: /tmp/evil.so}
port: 18081
`
	s.writeAndCommit("ai-module.yaml", mf, "4.0.0")
	_, err := s.deploy(s.input("local", "v4.0.0"))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != wf.ErrPolicyRefused {
		t.Fatalf("deploy: %v, want %s", err, wf.ErrPolicyRefused)
	}
	for _, rule := range []string{"program.inline_code", "arg.shell", "program.never"} {
		if !strings.Contains(app.Error(), "rule "+rule) {
			t.Errorf("refusal does not name rule %s: %v", rule, app.Error())
		}
	}
	rows := s.audit(wf.WorkflowID("acme", "local", "sample-app"))
	var rules []string
	for _, r := range rows {
		switch r.phase {
		case "refused":
			rules = append(rules, r.rule)
		case "started":
			t.Errorf("a command ran: %+v", r)
		}
	}
	if len(rules) != 3 {
		t.Errorf("refusals audited: %v, want 3", rules)
	}
}

// TestDeployCanceledIsCompensated: a deploy cancelled while it
// health-checks a release that never gets healthy is rolled back.
func TestDeployCanceledIsCompensated(t *testing.T) {
	s := newStack(t, "")
	s.commitVersion("sample-app-unhealthy", "3.0.0", 100)
	defer s.stopApps()
	if _, err := s.deploy(s.input("local", "v1.0.0")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := s.start(ctx, s.input("local", "v3.0.0"))
	for {
		resp, err := s.tc.QueryWorkflow(ctx, run.GetID(), "", wf.QueryProgress)
		if err != nil {
			t.Fatal(err)
		}
		var p wf.Progress
		if err := resp.Get(&p); err != nil {
			t.Fatal(err)
		}
		if p.Phase == "health" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := s.tc.CancelWorkflow(ctx, run.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	err := run.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("run ended with %v, want canceled", err)
	}
	var rep wf.Report
	if !canceled.HasDetails() || canceled.Details(&rep) != nil || rep.Status != wf.StatusCanceled || rep.Rollback == nil || !rep.Rollback.Healthy {
		t.Errorf("canceled report: %+v", rep)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/health", s.port)
	if body, err := get(url); err != nil || body != "ok 1.0.0" {
		t.Errorf("after the cancel GET %s = %q, %v; want 1.0.0 back", url, body, err)
	}
}
