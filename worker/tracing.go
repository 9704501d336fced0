package worker

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"contextworker/internal/config"
)

// serviceName identifies the worker's spans.
const serviceName = "contextworker-worker"

// newTracing builds the SDK's OpenTelemetry tracing interceptor over a
// tracer provider that exports to exp, or over OTLP/HTTP when exp is nil.
// The interceptor also puts TraceID and SpanID on workflow and activity log
// lines. shutdown flushes the spans still buffered.
func newTracing(ctx context.Context, t config.Tracing, exp sdktrace.SpanExporter) (interceptor.Interceptor, func(context.Context) error, error) {
	if exp == nil {
		var opts []otlptracehttp.Option
		if t.OTLPEndpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(t.OTLPEndpoint))
		}
		var err error
		// New does not connect: an unreachable collector costs dropped
		// spans, never a stuck worker.
		if exp, err = otlptracehttp.New(ctx, opts...); err != nil {
			return nil, nil, fmt.Errorf("tracing: otlp exporter: %w", err)
		}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.SampleRatio))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", serviceName))),
	)
	ti, err := opentelemetry.NewTracingInterceptor(opentelemetry.TracerOptions{Tracer: tp.Tracer("contextworker/worker")})
	if err != nil {
		_ = tp.Shutdown(ctx)
		return nil, nil, fmt.Errorf("tracing: interceptor: %w", err)
	}
	return ti, tp.Shutdown, nil
}
