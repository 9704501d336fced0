package deploy

import (
	"time"

	"contextworker/modules/deploy/policy"
)

// Stable names: these are API. Users start deploys with
// `temporal workflow start --type deploy --task-queue deploy`.
const (
	// WorkflowName is the registered workflow type.
	WorkflowName = "deploy"
	// TaskQueue is the task queue the deploy module's workers poll.
	TaskQueue = "deploy"
	// QueryProgress returns a Progress.
	QueryProgress = "progress"
	// SignalApprove lets a run wait for plan approval go on (targets with
	// approve_plans: true).
	SignalApprove = "approve"
	// SignalReject ends such a run before anything ran on the target.
	SignalReject = "reject"

	ActivityCheckout = "deploy.Checkout"
	ActivityPlan     = "deploy.Plan"
	ActivityValidate = "deploy.Validate"
	ActivityPrepare  = "deploy.Prepare"
	ActivityExec     = "deploy.Exec"
	ActivitySwitch   = "deploy.Switch"
	ActivityStart    = "deploy.Start"
	ActivityHealth   = "deploy.Health"
	ActivityPrune    = "deploy.Prune"
	ActivityRollback = "deploy.Rollback"
)

// Error types of non-retryable failures.
const (
	ErrInvalidInput   = "InvalidInput"
	ErrPolicyRefused  = "PolicyRefused"
	ErrBadManifest    = "BadManifest"
	ErrNotApproved    = "NotApproved"
	ErrHealthCheck    = "HealthCheckFailed"
	ErrCommandFailed  = "CommandFailed"
	ErrAlreadyRunning = "DeployAlreadyRunning"
)

// Tiers.
const (
	Tier1 = 1 // ai-module.yaml
	Tier2 = 2 // detected stack
)

// Source is a checked-out repository, in a workspace on the workers.
type Source struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	Commit     string `json:"commit"`
	Tier       int    `json:"tier"`
	// Manifest is the ai-module.yaml name, when tier 1.
	ManifestName string `json:"manifest_name,omitempty"`
	// Stack is what tier 2 detected (go, node, python, docker, make).
	Stack string `json:"stack,omitempty"`
}

// Health is how a started release is probed.
type Health struct {
	Enabled  bool          `json:"enabled"`
	Endpoint string        `json:"endpoint"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	Retries  int           `json:"retries"`
}

// Prompt records what became of the task prompt.
type Prompt struct {
	Text string `json:"text"`
	Used bool   `json:"used"`
	Note string `json:"note"`
}

// Plan is the deploy's resolved plan, shown before anything runs.
type Plan struct {
	WorkflowID string `json:"workflow_id"`
	TenantID   string `json:"tenant_id"`
	Target     string `json:"target"`
	TargetKind string `json:"target_kind"`
	Module     string `json:"module"`
	Version    string `json:"version"`
	Source     Source `json:"source"`
	// Release is the release directory name, <version>-<timestamp>.
	Release string `json:"release"`
	// Commands are the build and test commands, run in order.
	Commands []policy.Command `json:"commands"`
	// Start runs the release under the supervisor.
	Start policy.Command `json:"start"`
	// Secrets are names resolved from the target's secret refs when a
	// command runs; values never enter history.
	Secrets         []string `json:"secrets,omitempty"`
	Port            int      `json:"port"`
	Health          Health   `json:"health"`
	RollbackEnabled bool     `json:"rollback_enabled"`
	Prompt          *Prompt  `json:"prompt,omitempty"`
	Requester       string   `json:"requester,omitempty"`
	// Endpoint is where the started release answers.
	Endpoint string `json:"endpoint"`
	// ApprovalTimeout > 0 makes the run wait that long for an approve
	// signal before anything runs (the target's approve_plans).
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	// CommandTimeout is the target policy's bound on one command.
	CommandTimeout time.Duration `json:"command_timeout"`
	// HeartbeatTimeout is how soon a dead worker's activity is retried.
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
}

// PlanRequest asks the Plan activity for a plan.
type PlanRequest struct {
	Input     Input     `json:"input"`
	Source    Source    `json:"source"`
	StartedAt time.Time `json:"started_at"`
}

// ExecRequest runs one command of a plan (Index in Plan.Commands).
type ExecRequest struct {
	Plan  Plan `json:"plan"`
	Index int  `json:"index"`
}

// StepOutcome is one step's result.
type StepOutcome struct {
	Step     string        `json:"step"`
	Argv     []string      `json:"argv,omitempty"`
	Status   string        `json:"status"`
	ExitCode *int          `json:"exit_code,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Tail     string        `json:"tail,omitempty"`
	Skipped  bool          `json:"skipped,omitempty"`
	Detail   string        `json:"detail,omitempty"`
}

// SwitchResult says which release the current link left.
type SwitchResult struct {
	Previous string `json:"previous,omitempty"`
}

// RollbackRequest undoes a deploy: back to Previous ("" when there was
// none: the new release is stopped and current removed).
type RollbackRequest struct {
	Plan     Plan   `json:"plan"`
	Previous string `json:"previous,omitempty"`
	Switched bool   `json:"switched"`
	Started  bool   `json:"started"`
	Reason   string `json:"reason"`
}

// RollbackResult says what the compensation did.
type RollbackResult struct {
	RestoredRelease string `json:"restored_release,omitempty"`
	Restarted       bool   `json:"restarted"`
	Healthy         bool   `json:"healthy"`
	Detail          string `json:"detail"`
}

// Run statuses.
const (
	StatusSucceeded  = "succeeded"
	StatusFailed     = "failed"
	StatusRolledBack = "rolled_back"
	StatusCanceled   = "canceled"
	StatusRejected   = "rejected"
)

// Report is the workflow result.
type Report struct {
	WorkflowID string          `json:"workflow_id"`
	Status     string          `json:"status"`
	Error      string          `json:"error,omitempty"`
	Plan       *Plan           `json:"plan,omitempty"`
	Steps      []StepOutcome   `json:"steps"`
	Endpoint   string          `json:"endpoint,omitempty"`
	Release    string          `json:"release,omitempty"`
	Previous   string          `json:"previous,omitempty"`
	Rollback   *RollbackResult `json:"rollback,omitempty"`
	// PromptNote says what became of the task prompt.
	PromptNote string `json:"prompt_note,omitempty"`
	AuditQuery string `json:"audit_query"`
}

// Progress is returned by the progress query.
type Progress struct {
	Phase            string        `json:"phase"`
	Plan             *Plan         `json:"plan,omitempty"`
	Steps            []StepOutcome `json:"steps"`
	AwaitingApproval bool          `json:"awaiting_approval,omitempty"`
}
