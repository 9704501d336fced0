package starter

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"contextworker/internal/config"
	"contextworker/internal/secret"
)

// ServerTLS builds the TLS configuration starter.tls describes, or nil
// when TLS is off. The key comes from its secret reference. With a client
// CA the starter verifies client certificates (mutual TLS), and with
// RequireClientCert it refuses callers without one; the JWT still decides
// who may do what. Both fronts negotiate HTTP/2 (gRPC needs it) and the
// HTTP API also HTTP/1.1.
func ServerTLS(c config.StarterTLS, env secret.Lookup) (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	certPEM, err := os.ReadFile(c.CertFile)
	if err != nil {
		return nil, fmt.Errorf("starter.tls.cert_file: %w", err)
	}
	keyPEM, err := c.KeyFile.Resolve(env)
	if err != nil {
		return nil, fmt.Errorf("starter.tls.key_file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("starter.tls: certificate and key: %w", err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if c.ClientCAFile != "" {
		caPEM, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("starter.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("starter.tls.client_ca_file: no PEM certificate in %s", c.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if c.RequireClientCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}
