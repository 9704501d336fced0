package grpcfront

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	workerpb "contextworker/proto/contextworker"
)

// envelopeOverhead is what a ContextUnit adds around its payload: ids,
// trace, chain of thought, metrics. The payload itself is bounded by the
// starter's max_body_bytes once it is JSON.
const envelopeOverhead = 64 << 10

// maxStreams bounds the RPCs one connection may have in flight.
const maxStreams = 128

// NewServer returns a gRPC server serving svc, with messages bounded to
// maxBodyBytes (the starter's max_body_bytes) plus the envelope's overhead:
// a larger message is refused with ResourceExhausted before it is decoded.
func NewServer(svc *Service, maxBodyBytes int64) *grpc.Server {
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(maxBodyBytes)+envelopeOverhead),
		grpc.MaxSendMsgSize(svc.maxAnswer+envelopeOverhead),
		grpc.MaxConcurrentStreams(maxStreams),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute}),
	)
	workerpb.RegisterWorkerServiceServer(g, svc)
	return g
}

// shutdownGrace is how long Serve lets RPCs in flight finish.
const shutdownGrace = 10 * time.Second

// Serve serves g on ln until ctx is done, then stops gracefully, cutting
// off RPCs still running after shutdownGrace. It closes ln.
func Serve(ctx context.Context, g *grpc.Server, ln net.Listener, log *slog.Logger) error {
	log.Info("starter gRPC front listening", "addr", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("grpc serve: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(shutdownGrace):
		g.Stop()
		<-stopped
	}
	<-done
	log.Info("starter gRPC front stopped")
	return nil
}
