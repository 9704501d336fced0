package starter

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	contextcorepb "contextworker/proto/contextcore"
	workerpb "contextworker/proto/contextworker"
)

// TestServeBothFronts runs the HTTP API and the gRPC front side by side,
// as `starter --grpc-listen` does, and stops both with the context.
func TestServeBothFronts(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, nil)
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	hln, gln := listen(), listen()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.srv.serveBoth(ctx, hln, gln) }()

	resp, err := http.Get("http://" + hln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTP /healthz: %d", resp.StatusCode)
	}

	conn, err := grpc.NewClient("passthrough:///"+gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := workerpb.NewWorkerServiceClient(conn)
	// The front's own envelope check, then the starter's auth.
	_, err = c.GetTaskStatus(t.Context(), &contextcorepb.ContextUnit{})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("GetTaskStatus without workflow_id: %v, want InvalidArgument", err)
	}
	_, err = c.StartWorkflow(t.Context(), &contextcorepb.ContextUnit{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("StartWorkflow without a token: %v, want Unauthenticated from the starter", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveBoth after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serveBoth did not stop after its context was done")
	}
}
