package starter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"contextworker/internal/config"
	"contextworker/internal/secret"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                                      string
	pool                                     *x509.CertPool
	client                                   tls.Certificate
	caFile, serverCert, serverKey, badCAFile string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir(), pool: x509.NewCertPool()}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(p.dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	mkCA := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k, der
	}
	ca, caKey, caDER := mkCA("test CA")
	p.pool.AddCert(ca)
	p.caFile = write("ca.pem", "CERTIFICATE", caDER)
	_, _, otherDER := mkCA("other CA")
	p.badCAFile = write("other-ca.pem", "CERTIFICATE", otherDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ip bool) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	sDER, sKey := leaf(2, x509.ExtKeyUsageServerAuth, true)
	p.serverCert = write("server.pem", "CERTIFICATE", sDER)
	skDER, _ := x509.MarshalECPrivateKey(sKey)
	p.serverKey = write("server-key.pem", "EC PRIVATE KEY", skDER)
	cDER, cKey := leaf(3, x509.ExtKeyUsageClientAuth, false)
	p.client = tls.Certificate{Certificate: [][]byte{cDER}, PrivateKey: cKey}
	return p
}

// TestStarterServesTLS: with starter.tls the API answers over TLS only, and
// with a required client CA only to callers with a certificate it signed.
func TestStarterServesTLS(t *testing.T) {
	p := newTestPKI(t)
	keyRef, err := secret.Parse("file:" + p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := ServerTLS(config.StarterTLS{CertFile: p.serverCert, KeyFile: keyRef, ClientCAFile: p.caFile, RequireClientCert: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := unitHarness(t, func(o *Options) { o.TLS = tc })
	ln, err := h.srv.listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "https://" + ln.Addr().String() + "/healthz"

	get := func(cfg *tls.Config) (int, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := c.Get(url)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(&tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}}); err != nil || code != http.StatusOK {
		t.Fatalf("with a client certificate: %d, %v", code, err)
	}
	if _, err := get(&tls.Config{RootCAs: p.pool}); err == nil {
		t.Error("without a client certificate: answered, want the handshake refused")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if resp, err := c.Get(strings.Replace(url, "https://", "http://", 1)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plaintext HTTP answered 200 on the TLS port")
		}
	}
}

func TestServerTLSConfigErrors(t *testing.T) {
	p := newTestPKI(t)
	keyRef, _ := secret.Parse("file:" + p.serverKey)
	if tc, err := ServerTLS(config.StarterTLS{}, nil); tc != nil || err != nil {
		t.Errorf("TLS off: %v, %v", tc, err)
	}
	if _, err := ServerTLS(config.StarterTLS{CertFile: p.caFile, KeyFile: keyRef}, nil); err == nil || !strings.Contains(err.Error(), "certificate and key") {
		t.Errorf("a certificate that does not match the key: %v", err)
	}
	if _, err := ServerTLS(config.StarterTLS{CertFile: p.serverCert, KeyFile: keyRef, ClientCAFile: p.serverKey}, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a client CA file without certificates: %v", err)
	}
}
