package config

import (
	"errors"
	"net"
	"time"

	"contextworker/internal/secret"
)

// StarterTLS configures the starter's own TLS.
type StarterTLS struct {
	// CertFile and KeyFile are the server's certificate chain and private
	// key (PEM); the key is a secret reference (file:, credential:).
	CertFile string     `yaml:"cert_file"`
	KeyFile  secret.Ref `yaml:"key_file"`
	// ClientCAFile (PEM) makes the starter ask callers for a certificate
	// signed by one of these CAs: service-to-service mTLS.
	ClientCAFile string `yaml:"client_ca_file"`
	// RequireClientCert refuses callers without such a certificate; without
	// it a certificate is verified when given (browsers and tools with a
	// token alone still connect).
	RequireClientCert bool `yaml:"require_client_cert"`
}

// Enabled reports whether TLS is configured.
func (t StarterTLS) Enabled() bool { return t.CertFile != "" || !t.KeyFile.IsZero() }

func (t StarterTLS) validate(p string) error {
	var errs []error
	if t.Enabled() && (t.CertFile == "" || t.KeyFile.IsZero()) {
		errs = append(errs, fieldErr(p, "cert_file and key_file go together"))
	}
	if !t.KeyFile.IsZero() {
		if err := t.KeyFile.Validate(); err != nil {
			errs = append(errs, fieldErr(p+".key_file", "%v", err))
		}
	}
	if (t.ClientCAFile != "" || t.RequireClientCert) && !t.Enabled() {
		errs = append(errs, fieldErr(p+".client_ca_file", "client certificates need cert_file and key_file"))
	}
	if t.RequireClientCert && t.ClientCAFile == "" {
		errs = append(errs, fieldErr(p+".require_client_cert", "needs client_ca_file"))
	}
	return errors.Join(errs...)
}

// Starter configures the HTTP trigger service.
type Starter struct {
	// Listen is the HTTP listen address.
	Listen string `yaml:"listen"`
	// GRPCListen is the listen address of the gRPC WorkerService front
	// (package starter/grpcfront), served beside the HTTP API by the same
	// process; "" serves none.
	GRPCListen string `yaml:"grpc_listen"`
	// PublicURL is how clients reach the starter, for printed links.
	PublicURL string `yaml:"public_url"`
	// TLS serves the HTTP API and the gRPC front over TLS, and with a
	// client CA over mutual TLS; unset serves plaintext (loopback or
	// behind a terminating proxy only).
	TLS StarterTLS `yaml:"tls"`
	JWT JWT        `yaml:"jwt"`
	// MaxBodyBytes caps request bodies (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RatePerSecond and Burst limit requests per JWT subject (429 beyond).
	RatePerSecond float64 `yaml:"rate_per_second"`
	Burst         int     `yaml:"burst"`
	// AuthFailuresPerSecond and AuthFailureBurst limit failed
	// authentications per client address: beyond them the address gets
	// 429 before its token is even verified.
	AuthFailuresPerSecond float64 `yaml:"auth_failures_per_second"`
	AuthFailureBurst      int     `yaml:"auth_failure_burst"`
	// TemporalTimeout bounds every call to Temporal (504 beyond).
	TemporalTimeout time.Duration `yaml:"temporal_timeout"`
	// MaxRunning caps the runs of one workflow type a tenant may have open
	// at once (429 with Retry-After beyond); MaxRunningByType overrides it
	// per workflow type. 0 means no cap.
	MaxRunning       int            `yaml:"max_running"`
	MaxRunningByType map[string]int `yaml:"max_running_by_type"`
	// PageTokenSecret keys the MAC of list page tokens, so a forged token
	// is refused at once. Unset, each starter process draws its own key
	// and tokens do not survive a restart or cross replicas.
	PageTokenSecret secret.Ref `yaml:"page_token_secret"`
}

// MaxRunningOf is the cap on open runs of workflowType per tenant; 0 means
// none.
func (s Starter) MaxRunningOf(workflowType string) int {
	if n, ok := s.MaxRunningByType[workflowType]; ok {
		return n
	}
	return s.MaxRunning
}

// ValidateLimits checks the starter's limits that the HTTP server relies
// on, naming each key under prefix p.
func (s Starter) ValidateLimits(p string) error {
	var errs []error
	errs = append(errs, s.TLS.validate(p+".tls"))
	if s.GRPCListen != "" {
		if _, _, err := net.SplitHostPort(s.GRPCListen); err != nil {
			errs = append(errs, fieldErr(p+".grpc_listen", "%q is not host:port (or leave it empty: no gRPC front)", s.GRPCListen))
		} else if s.GRPCListen == s.Listen {
			errs = append(errs, fieldErr(p+".grpc_listen", "%q is also starter.listen; the gRPC front needs its own port", s.GRPCListen))
		}
	}
	if s.MaxRunning < 0 {
		errs = append(errs, fieldErr(p+".max_running", "must be >= 0 (0: no cap), got %d", s.MaxRunning))
	}
	for typ, n := range s.MaxRunningByType {
		if n < 0 {
			errs = append(errs, fieldErr(p+".max_running_by_type."+typ, "must be >= 0 (0: no cap), got %d", n))
		}
	}
	if s.JWT.MaxLifetime <= 0 {
		errs = append(errs, fieldErr(p+".jwt.max_lifetime", "must be > 0, got %s", s.JWT.MaxLifetime))
	}
	if !s.PageTokenSecret.IsZero() {
		if err := s.PageTokenSecret.Validate(); err != nil {
			errs = append(errs, fieldErr(p+".page_token_secret", "%v", err))
		}
	}
	return errors.Join(errs...)
}

// JWT configures token verification. Set HS256Secret, or PublicKeys / JWKSFile
// for RS256 and ES256; the accepted algorithms follow from what is set.
type JWT struct {
	HS256Secret secret.Ref    `yaml:"hs256_secret"`
	PublicKeys  []string      `yaml:"public_keys"` // PEM files
	JWKSFile    string        `yaml:"jwks_file"`
	Issuer      string        `yaml:"issuer"`
	Audience    string        `yaml:"audience"`
	Leeway      time.Duration `yaml:"leeway"`
	// MaxLifetime refuses tokens whose exp - iat exceeds it, and tokens
	// without iat: a leaked long-lived token would outlive a key rotation.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
}

// DefaultStarter returns the starter defaults.
func DefaultStarter() Starter {
	return Starter{
		Listen:                "127.0.0.1:8081",
		PublicURL:             "http://127.0.0.1:8081",
		MaxBodyBytes:          1 << 20,
		RatePerSecond:         50,
		Burst:                 100,
		AuthFailuresPerSecond: 1,
		AuthFailureBurst:      20,
		TemporalTimeout:       10 * time.Second,
		MaxRunning:            100,
		JWT: JWT{
			Issuer:      "contextworker",
			Audience:    "contextworker",
			Leeway:      30 * time.Second,
			MaxLifetime: 24 * time.Hour,
		},
	}
}
