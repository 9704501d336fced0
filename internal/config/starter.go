package config

import (
	"time"

	"contextworker/internal/secret"
)

// Starter configures the HTTP trigger service.
type Starter struct {
	// Listen is the HTTP listen address.
	Listen string `yaml:"listen"`
	// PublicURL is how clients reach the starter, for printed links.
	PublicURL string `yaml:"public_url"`
	JWT       JWT    `yaml:"jwt"`
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
		JWT: JWT{
			Issuer:   "contextworker",
			Audience: "contextworker",
			Leeway:   30 * time.Second,
		},
	}
}
