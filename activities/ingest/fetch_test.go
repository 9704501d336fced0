package ingest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFetchObeysTheNetworkPolicy: a document URL on a loopback address is
// a permanent failure (the document is quarantined as unreadable) unless
// network.allow_loopback admits it, and an over-size body is cut at
// maxSize+1 bytes.
func TestFetchObeysTheNetworkPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	_, err := newFetcher(Network{}, time.Second, 10).get(ctx, srv.URL+"/doc")
	if !errors.Is(err, errPermanent) || !strings.Contains(err.Error(), "allow_loopback") {
		t.Fatalf("default policy: %v, want a permanent refusal naming network.allow_loopback", err)
	}
	body, err := newFetcher(Network{AllowLoopback: true}, time.Second, 10).get(ctx, srv.URL+"/doc")
	if err != nil || len(body) != 11 {
		t.Fatalf("allow_loopback: %d bytes, %v; want 11 (maxSize+1)", len(body), err)
	}
}
