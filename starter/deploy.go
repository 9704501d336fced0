package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	acts "contextworker/activities/deploy"
	"contextworker/modules/deploy/auditlog"
	"contextworker/modules/deploy/hook"
)

// The deploy module's routes: its audit, the ad-hoc command shortcut and
// the git push webhook. They live here, calling the deploy module's own
// packages, rather than behind a generic module-router interface: one
// module serves HTTP today, and an interface declared before a second
// implementation exists would guess its shape (see docs/starter.md).
// Who may start what and who is recorded as the requester come from the
// registry (Workflow.StartRole, Workflow.Stamp), not from this file.
const (
	deployModule = "deploy"
	deployType   = "deploy"
	execType     = "deploy-exec"
)

// auditPage is the answer to GET /v1/audit.
type auditPage struct {
	Entries []auditlog.Entry `json:"entries"`
	// NextAfter is the after= of the next page; 0 when this page is the
	// last.
	NextAfter int64 `json:"next_after,omitempty"`
}

// audit answers GET /v1/audit: the caller's tenant's deploy audit rows,
// optionally of one workflow, in id order, paged by after= and limit=.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := auditlog.Query{TenantID: c.Tenant, WorkflowID: r.URL.Query().Get("workflow_id"), Limit: 100}
	var problems []fieldProblem
	if len(q.WorkflowID) > 512 {
		problems = append(problems, fieldProblem{Field: "workflow_id", Problem: "longer than 512 bytes"})
	}
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, fieldProblem{Field: "after", Problem: "want a non-negative integer"})
		}
		q.AfterID = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > auditlog.MaxLimit {
			problems = append(problems, fieldProblem{Field: "limit", Problem: fmt.Sprintf("want an integer in 1..%d", auditlog.MaxLimit)})
		}
		q.Limit = n
	}
	if len(problems) > 0 {
		return invalidInput(problems...)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.TemporalTimeout)
	defer cancel()
	db, err := s.db.get(ctx)
	if err != nil {
		return err
	}
	entries, err := auditlog.List(ctx, db, q)
	if err != nil {
		return newError(http.StatusServiceUnavailable, codeDatabaseUnavailable, "the audit database is unavailable, retry later").because(err)
	}
	page := auditPage{Entries: entries}
	if page.Entries == nil {
		page.Entries = []auditlog.Entry{}
	}
	if len(entries) == q.Limit {
		page.NextAfter = entries[len(entries)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// execute answers POST /v1/execute: a thin alias of POST /v1/workflows
// with type deploy-exec and the body as its input. The command policy is
// not checked here: the workflow refuses and audits what it forbids.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.needType(execType); err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return s.startWorkflow(w, r, c, startRequest{Type: execType, Input: body})
}

// hookIgnored is the 202 answer to a verified push that deploys nothing.
type hookIgnored struct {
	Note string `json:"note"`
}

// gitHook answers POST /v1/hooks/git. It takes no token: the body's
// X-Hub-Signature-256, keyed with the secret of the hook naming the
// pushed repository, authenticates it. A verified push to the hook's
// branch starts a deploy for the hook's tenant, requested by
// "hook:<name>".
func (s *Server) gitHook(w http.ResponseWriter, r *http.Request, _ *caller) error {
	addr := clientAddr(r)
	if err := s.hookLimiter.allow(addr); err != nil {
		return err
	}
	if err := s.needType(deployType); err != nil {
		return err
	}
	cfg, _ := s.moduleConfig(deployModule).(*acts.Config)
	if cfg == nil || len(cfg.Hooks) == 0 {
		return newError(http.StatusNotFound, codeNotFound, "no webhooks are configured (modules.deploy.hooks)")
	}
	if r.ContentLength > hook.MaxBody {
		return newError(http.StatusRequestEntityTooLarge, codePayloadTooLarge, "webhook body is larger than %d bytes", hook.MaxBody)
	}
	// One byte more than allowed, so that Match sees an oversized body
	// and says so, without reading the rest.
	body, err := io.ReadAll(io.LimitReader(r.Body, hook.MaxBody+1))
	if err != nil {
		return badRequest("cannot read request body").because(err)
	}
	in, err := hook.Match(cfg.Hooks, s.lookupEnv, r.Header.Get(hook.SignatureHeader), body)
	switch {
	case err == nil:
	case errors.Is(err, hook.ErrBadSignature):
		// Failed signatures count like failed tokens: guessing is slowed.
		if limited := s.failures.allow(addr); limited != nil {
			return limited.because(err)
		}
		return newError(http.StatusUnauthorized, codeUnauthenticated, "bad or missing %s", hook.SignatureHeader)
	case errors.Is(err, hook.ErrIgnored):
		writeJSON(w, http.StatusAccepted, hookIgnored{Note: strings.TrimPrefix(err.Error(), hook.ErrIgnored.Error()+": ")})
		return nil
	case errors.Is(err, hook.ErrTooLarge):
		return newError(http.StatusRequestEntityTooLarge, codePayloadTooLarge, "webhook body is larger than %d bytes", hook.MaxBody)
	case errors.Is(err, hook.ErrBadRequest):
		return badRequest("not a push event this hook can deploy").because(err)
	default:
		return fmt.Errorf("webhook: %w", err) // a secret that does not resolve: ours, not the caller's
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode deploy input: %w", err)
	}
	// The hook acts for its configured tenant, as an operator would; Stamp
	// records it as the requester.
	c := &caller{Subject: in.Requester, Tenant: in.TenantID, Role: operator}
	return s.startWorkflow(w, r, c, startRequest{Type: deployType, Input: raw})
}

// needType is the 404 for a shortcut whose workflow type no module of
// this starter declares.
func (s *Server) needType(name string) error {
	if _, ok := s.types[name]; ok {
		return nil
	}
	return newError(http.StatusNotFound, codeNotFound, "no module of this starter declares the workflow type %q (known: %s); run the deploy module",
		name, strings.Join(s.typeNames, ", "))
}

// lazyPool opens the database on first use and keeps it; a failed open
// is retried by the next request. Only the audit route needs it, so a
// starter whose database is down still starts workflows.
type lazyPool struct {
	open func(ctx context.Context) (*pgxpool.Pool, error)
	// sem serialises opening; a waiter gives up with its request's ctx.
	sem  chan struct{}
	pool *pgxpool.Pool
}

func newLazyPool(open func(ctx context.Context) (*pgxpool.Pool, error)) *lazyPool {
	return &lazyPool{open: open, sem: make(chan struct{}, 1)}
}

// get returns the pool, opening it within ctx, or the 503 to answer.
func (l *lazyPool) get(ctx context.Context) (*pgxpool.Pool, error) {
	unavailable := newError(http.StatusServiceUnavailable, codeDatabaseUnavailable, "the audit database is unavailable, retry later")
	if l.open == nil {
		return nil, newError(http.StatusServiceUnavailable, codeDatabaseUnavailable, "this starter has no database configured (postgres.dsn)")
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, unavailable.because(ctx.Err())
	}
	defer func() { <-l.sem }()
	if l.pool != nil {
		return l.pool, nil
	}
	pool, err := l.open(ctx)
	if err != nil {
		return nil, unavailable.because(err)
	}
	l.pool = pool
	return pool, nil
}

// close closes the pool if it was opened.
func (l *lazyPool) close() {
	l.sem <- struct{}{}
	defer func() { <-l.sem }()
	if l.pool != nil {
		l.pool.Close()
		l.pool = nil
	}
}
