// Package grpcfront serves ContextWorker's gRPC WorkerService
// (contextworker.WorkerService, proto/contextworker/worker.proto) beside the
// starter's REST API, for ContextUnity services that speak gRPC.
//
// It is a thin adapter over the starter's HTTP handler and must stay one:
// every RPC becomes one in-process HTTP request to starter.Server.Handler()
// (never a network hop), carrying the caller's authorization metadata, peer
// address and trace id, so that JWT auth, roles, tenant isolation,
// registry-driven validation, limits and error codes are exactly the REST
// API's. It must never decide any of those itself, talk to Temporal, or
// keep state.
//
// Mapping (payloads are google.protobuf.Struct in a contextcore.ContextUnit):
//
//	StartWorkflow      {workflow_type, tenant_id?, ...input} → POST /v1/workflows (unit_id is the Idempotency-Key)
//	                   answers {workflow_id, run_id, status: "started"}
//	GetTaskStatus      {workflow_id} → GET /v1/workflows/{id}
//	                   answers {workflow_id, run_id, status, result?, error?, progress?}
//	RegisterSchedules  {} → POST /v1/schedules/sync (admin)
//	                   answers {status, registered_count, modules}
//	ExecuteCode        UNIMPLEMENTED
//
// HTTP errors become gRPC status codes (see codeOf) with the REST error code
// as an ErrorInfo reason, field violations for 400 and RetryInfo for 429.
package grpcfront
