package worker

import (
	"context"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// moduleTagger adds a "module" field to every workflow and activity logger
// on one task queue's worker. The SDK already adds WorkflowID and RunID.
type moduleTagger struct {
	interceptor.WorkerInterceptorBase
	module string
}

var _ interceptor.WorkerInterceptor = (*moduleTagger)(nil)

func (m *moduleTagger) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityTagger{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, module: m.module}
}

func (m *moduleTagger) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowTagger{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, module: m.module}
}

type activityTagger struct {
	interceptor.ActivityInboundInterceptorBase
	module string
}

func (a *activityTagger) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&activityOut{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, module: a.module})
}

type activityOut struct {
	interceptor.ActivityOutboundInterceptorBase
	module string
}

func (a *activityOut) GetLogger(ctx context.Context) log.Logger {
	return log.With(a.Next.GetLogger(ctx), "module", a.module)
}

type workflowTagger struct {
	interceptor.WorkflowInboundInterceptorBase
	module string
}

func (w *workflowTagger) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&workflowOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, module: w.module})
}

type workflowOut struct {
	interceptor.WorkflowOutboundInterceptorBase
	module string
}

func (w *workflowOut) GetLogger(ctx workflow.Context) log.Logger {
	return log.With(w.Next.GetLogger(ctx), "module", w.module)
}
