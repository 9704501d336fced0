// Package starter is the thin HTTP service through which other services and
// operators start, inspect, cancel and signal workflows.
//
// It adds what Temporal itself does not give a multi-tenant platform:
// authentication (JWT bearer tokens), tenant scoping and strict input
// validation against the registry's declared input types. It must stay thin:
// it never runs activities or workflows, keeps no state beyond rate
// limiters and the Idempotency-Keys it has seen, and every answer comes from
// Temporal (the deploy audit, from PostgreSQL).
//
// # Routes
//
//	POST /v1/workflows                          start (operator)
//	GET  /v1/workflows                          list the tenant's workflows (viewer)
//	GET  /v1/workflows/{id}                     status, result or failure, progress (viewer)
//	POST /v1/workflows/{id}/cancel              request cancellation (operator)
//	POST /v1/workflows/{id}/signals/{name}      send a signal (operator)
//	POST /v1/ingest                             submit a document: {source, text} (operator)
//	POST /v1/execute                            run one ad-hoc command: a deploy-exec input (admin)
//	GET  /v1/audit                              the tenant's deploy audit (operator; needs PostgreSQL)
//	POST /v1/hooks/git                          deploy on a signed git push (X-Hub-Signature-256, no token)
//	POST /v1/schedules/sync                     sync every module's schedules (admin)
//	GET  /healthz, /readyz, /metrics, /openapi.json   unauthenticated
//
// Request bodies are JSON, sent as application/json or without a
// Content-Type (curl --json does the former).
// Workflow ids contain slashes, so {id} is one percent-encoded path segment:
// GET /v1/workflows/sleepy%2Facme%2Fs1. Start answers carry a status_url that
// is already encoded. openapi.json, embedded in the binary, documents the API;
// a test keeps it in step with the routes.
//
// # Authentication and roles
//
// Every /v1 route needs "Authorization: Bearer <JWT>" (the scheme is
// case-insensitive, RFC 7235). Tokens in the query string are refused, so they
// never end up in access logs. The accepted algorithms are pinned to those
// with a configured key: HS256 (starter.jwt.hs256_secret), RS256 and ES256
// (PEM public keys or a JWKS file). A key never comes from the token itself
// (jku, x5u and jwk headers are ignored), a "crit" header is refused, and exp,
// iss and aud are required, with the configured leeway. The claims are sub,
// tenant_id and roles. A viewer may read; an operator may also start, cancel
// and signal; an admin may do everything. Unknown roles grant nothing.
// Authentication failures answer 401, missing permissions 403. A workflow
// type may need more to start (registry.Workflow.StartRole: deploy-exec is
// an admin's), and its Stamp writes the caller's sub into the input (the
// deploy audit's requester), so a client cannot name someone else.
//
// # Tenant isolation
//
// A caller only ever sees its token's tenant (tenant_id, letters, digits,
// '_', '.' and '-': it must fit in an id segment and a query literal).
// Every workflow the starter starts carries the tenant twice: in the
// TenantId search attribute (with Module, and whatever the type's
// registry.Workflow.SearchAttributes adds, such as SupplierCode), and in its
// id. The id is the module's own id for the input when it has one
// (registry.Workflow.ID, e.g. "harvest/acme/s1" or "gardener/acme"; an id
// its own IDTenant does not give to the caller's tenant is refused as a
// module bug), otherwise "<type>/<tenant>/<key>" with the client's "id", a
// digest of the Idempotency-Key, or a random UUID as the key. Reads and
// writes by id check the id against the id rule of the run's workflow type
// (registry.Workflow.OwnerOfID, or the starter's own convention) and the
// TenantId search attribute of the described run; an id that is no
// registered type's id of the tenant is not even asked for. Another
// tenant's workflow answers 404 exactly as an unknown one does, so other
// tenants' ids cannot be probed. Ids are printable ASCII, checked before
// anything else (400). Listing filters on TenantId in the visibility query.
//
// A type whose input has a tenant (registry.Workflow.Tenant) gets the
// caller's tenant in the input's "tenant_id" when the client left it out;
// an input naming another tenant answers 403. The starter reads inputs only
// through the registry's declarations, never by reflection.
//
// # Checks before a start
//
// The input is decoded strictly, validated (registry.Validator), and
// checked against the module's configuration (registry.Workflow.Check), so
// a run that can only fail (an unknown supplier, an ftp:// feed) answers 400
// naming the field instead of starting. Every payload the starter writes or
// reads (inputs, summaries, signal payloads, query answers, results) goes
// through Options.DataConverter, so encrypted payloads need no change here.
//
// # Idempotency and conflicts
//
// Temporal treats a start that carries the request id of the current run of
// a workflow id as a retry of that start and answers it as it did the first
// time. The starter chooses the request id, and the workflow id:
//
//   - Idempotency-Key header: the request id is a digest of the tenant, the
//     key and the request (type, client id and canonical input, after the
//     tenant was filled in). Without a client or module id the workflow id
//     is "<type>/<tenant>/k-<digest of the key>", so the key names exactly
//     one workflow: a retry of the same request gets the same answer (202,
//     same workflow_id and run_id), running or closed, and never starts a
//     second workflow; the same key with a different request answers 409
//     idempotency_conflict. Keys are scoped to the tenant.
//   - A client-chosen "id", without a key: the request is its own key. The
//     same id with the same body gets the original answer; the same id with
//     a different body answers 409 conflict. These ids are never reused, even
//     after the workflow closed (WorkflowIdReusePolicy REJECT_DUPLICATE).
//   - A module id (registry.Workflow.ID) is a concurrency key, "one harvest
//     per supplier at a time": while a run with that id is open another
//     start answers 409 already_running; once it closed, a start runs again
//     (ALLOW_DUPLICATE). An Idempotency-Key there makes retries return the
//     original run, as long as no other request has started a newer run
//     under the id since.
//   - Otherwise every start is a new workflow with a random key.
//
// A 409 names the existing workflow in details (workflow_id, run_id); ids
// carry the tenant, so that is always the caller's own workflow. A retry
// looks exactly like the first start to the client and in the metrics.
// Deduplication lasts as long as Temporal keeps the workflow: after the
// namespace's retention period a retry starts afresh.
//
// # Progress
//
// For a running workflow, GET asks the query its type declares as progress
// (registry.Workflow.ProgressQuery), for at most two seconds: a query waits
// for a worker, and progress must not hold up the status. A type without
// one, or a run without a live worker, is answered without progress.
//
// # Signals
//
// Only the signals the run's type declares (registry.Workflow.Signals) are
// sent; another name answers 400 listing them. The body is the signal's
// payload, decoded strictly into its declared type; a signal without
// payload takes no body.
//
// # Limits and errors
//
// Bodies are capped (413), JSON is strict (unknown or repeated fields,
// strings that are not UTF-8, nesting deeper than 64 levels, trailing data
// and wrong types answer 400 naming the field) and costs memory linear in
// its size, each subject has a token-bucket rate limit (429 with
// Retry-After), a tenant may have max_running open runs of a type (429),
// tokens may live jwt.max_lifetime at most, and every Temporal call has a
// deadline (504). An unreachable Temporal answers 503. Every error has the
// body {"error":{"code","message","details"}}; internal errors are logged
// with the request id (X-Request-Id) and answered without their text. Run
// failures are shown as a code and a fixed reason, never their message.
// docs/starter.md covers the limits and how to rotate keys.
package starter
