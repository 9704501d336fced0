package worker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"contextworker/internal/config"
	"contextworker/internal/dev/testenv"
)

// pki is a throwaway CA with a server and a client certificate, as PEM
// files in a temp dir.
type pki struct {
	dir                           string
	caFile, serverCert, serverKey string
	clientCert, clientKey         string
	pool                          *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "contextworker test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &pki{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage, hosts ...string) (certFile, keyFile string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: hosts,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+".key", "PRIVATE KEY", keyDER)
	}
	p.serverCert, p.serverKey = leaf("temporal.test", 2, x509.ExtKeyUsageServerAuth, "temporal.test")
	p.clientCert, p.clientKey = leaf("contextworker-worker", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mtlsFront terminates mTLS in front of a plaintext Temporal frontend: it
// requires a client certificate signed by the test CA and relays the
// HTTP/2 (gRPC) stream to backend. `temporal server start-dev` has no TLS
// options, so this stands in for a TLS-configured frontend.
type mtlsFront struct {
	addr     string
	verified atomic.Int32 // handshakes with a verified client certificate
	refused  atomic.Int32 // handshakes that failed
	clientCN sync.Map
}

func startMTLSFront(t *testing.T, p *pki, backend string) *mtlsFront {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{"h2"}, // gRPC insists on ALPN h2
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &mtlsFront{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.relay(conn.(*tls.Conn), backend)
			}()
		}
	}()
	return f
}

func (f *mtlsFront) relay(conn *tls.Conn, backend string) {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		f.refused.Add(1)
		return
	}
	f.verified.Add(1)
	if peers := conn.ConnectionState().PeerCertificates; len(peers) > 0 {
		f.clientCN.Store(peers[0].Subject.CommonName, true)
	}
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, conn); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }() //nolint:errcheck
	go func() { io.Copy(conn, up); conn.CloseWrite(); done <- struct{}{} }()              //nolint:errcheck
	<-done
	<-done
}

// TestWorkerOverMTLS runs a workflow through a worker that reaches Temporal
// only over mTLS, configured by temporal.tls in the config file; then dials
// with the TEMPORAL_TLS_* environment as the temporal CLI would, and checks
// that a client without a certificate, or one that does not trust the
// server, is refused.
func TestWorkerOverMTLS(t *testing.T) {
	hostPort, _ := testenv.Temporal(t)
	p := newPKI(t)
	front := startMTLSFront(t, p, hostPort)
	t.Logf("integration: dev server %s behind an mTLS front %s, in-process worker", hostPort, front.addr)

	a := &testModule{name: "mtls", finished: new(atomic.Bool)}
	cfg := config.Default()
	cfg.Temporal.Address = front.addr
	cfg.Temporal.ConnectTimeout = 20 * time.Second
	cfg.Temporal.TLS = config.TLS{Enabled: true, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey, ServerName: "temporal.test"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	runInProcess(t, cfg, noEnv, a)
	if front.verified.Load() == 0 {
		t.Fatal("the worker did not connect through the mTLS front")
	}
	if _, ok := front.clientCN.Load("contextworker-worker"); !ok {
		t.Fatal("the worker did not present its client certificate")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := testenv.TemporalClient(t) // plaintext, straight to the dev server
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: a.TaskQueue()}, "mtls-wf", "over mtls")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil || out != "done over mtls" {
		t.Fatalf("workflow through the mTLS worker: %q %v", out, err)
	}

	envDial := func(t *testing.T, env map[string]string) error {
		t.Helper()
		env["TEMPORAL_ADDRESS"] = front.addr
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		opts, err := config.Default().Temporal.ClientOptions(config.Overrides{}, lookup)
		if err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cl, err := client.DialContext(dctx, opts)
		if err == nil {
			cl.Close()
		}
		return err
	}
	tests := []struct {
		name   string
		env    map[string]string
		wantOK bool
		// serverRefuses: the front itself must see the handshake fail (a
		// client the server refuses, not one that refuses the server).
		serverRefuses bool
		wantErr       string
	}{
		{"TEMPORAL_TLS_* with a client certificate", map[string]string{
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": p.caFile, "TEMPORAL_TLS_SERVER_NAME": "temporal.test",
			"TEMPORAL_TLS_CLIENT_CERT_PATH": p.clientCert, "TEMPORAL_TLS_CLIENT_KEY_PATH": p.clientKey,
		}, true, false, ""},
		{"no client certificate", map[string]string{
			"TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": p.caFile, "TEMPORAL_TLS_SERVER_NAME": "temporal.test",
			// The front's own count is the evidence: with TLS 1.3 the
			// client may see the alert ("certificate required") or only
			// the closed connection (broken pipe), depending on timing.
		}, false, true, ""},
		{"server not trusted", map[string]string{
			"TEMPORAL_TLS_SERVER_NAME":      "temporal.test",
			"TEMPORAL_TLS_CLIENT_CERT_PATH": p.clientCert, "TEMPORAL_TLS_CLIENT_KEY_PATH": p.clientKey,
		}, false, false, "certificate signed by unknown authority"},
		{"plaintext", map[string]string{}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refusedBefore := front.refused.Load()
			err := envDial(t, tt.env)
			if tt.wantOK && err != nil {
				t.Fatalf("dial: %v", err)
			}
			if tt.wantOK {
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("dial: err = %v; want it refused with %q", err, tt.wantErr)
			}
			if tt.serverRefuses {
				waitFor(ctx, t, "the front to refuse the handshake", func() bool { return front.refused.Load() > refusedBefore })
			}
		})
	}
}
