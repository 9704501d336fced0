package starter

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"contextworker/internal/config"
	"contextworker/internal/secret"
	contextcorepb "contextworker/proto/contextcore"
	workerpb "contextworker/proto/contextworker"
)

// TestGRPCFrontServesTLS: with starter.tls the gRPC front, like the HTTP
// API, answers over TLS (with the ALPN gRPC clients require), and a
// plaintext client gets no answer from it.
func TestGRPCFrontServesTLS(t *testing.T) {
	p := newTestPKI(t)
	keyRef, err := secret.Parse("file:" + p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := ServerTLS(config.StarterTLS{CertFile: p.serverCert, KeyFile: keyRef}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := unitHarness(t, func(o *Options) { o.TLS = tc })
	hln, err := h.srv.listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gln, err := h.srv.listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.serveBoth(ctx, hln, gln) }()
	t.Cleanup(func() { cancel(); <-done })

	payload, err := structpb.NewStruct(map[string]any{"workflow_id": "echo/acme/k"})
	if err != nil {
		t.Fatal(err)
	}
	call := func(creds credentials.TransportCredentials) error {
		t.Helper()
		conn, err := grpc.NewClient("passthrough:///"+gln.Addr().String(), grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		_, err = workerpb.NewWorkerServiceClient(conn).GetTaskStatus(cctx, &contextcorepb.ContextUnit{UnitId: "u1", TraceId: "t1", Payload: payload})
		return err
	}
	// No token: the API's 401, which proves the call crossed TLS and reached it.
	if err := call(credentials.NewTLS(&tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1"})); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("over TLS without a token: %v, want Unauthenticated", err)
	}
	if err := call(insecure.NewCredentials()); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext client: %v, want Unavailable (no answer)", err)
	}
}
