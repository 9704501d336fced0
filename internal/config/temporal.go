package config

import (
	"fmt"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"contextworker/internal/secret"
)

// Overrides holds values given as command-line flags; they beat everything.
type Overrides struct {
	Address   string
	Namespace string
}

// ClientOptions builds the Temporal client options, in the same way the
// temporal CLI does: a temporal.toml profile and the TEMPORAL_* environment
// (via go.temporal.io/sdk/contrib/envconfig) win over temporal.yaml, and
// flags (o) win over both.
func (t Temporal) ClientOptions(o Overrides, env secret.Lookup) (client.Options, error) {
	if env == nil {
		env = os.LookupEnv
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    t.ConfigFile,
		ConfigFileProfile: t.Profile,
		EnvLookup:         envLookup(env),
	})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal: load client profile: %w", err)
	}
	if prof.Address == "" {
		prof.Address = t.Address
	}
	if prof.Namespace == "" {
		prof.Namespace = t.Namespace
	}
	if prof.APIKey == "" && !t.APIKey.IsZero() {
		key, err := t.APIKey.Resolve(env)
		if err != nil {
			return client.Options{}, fmt.Errorf("temporal: api_key: %w", err)
		}
		prof.APIKey = key
	}
	if prof.TLS == nil && (t.TLS.Enabled || t.TLS.CertFile != "" || t.TLS.CAFile != "") {
		prof.TLS = &envconfig.ClientConfigTLS{
			ClientCertPath:   t.TLS.CertFile,
			ClientKeyPath:    t.TLS.KeyFile,
			ServerCACertPath: t.TLS.CAFile,
			ServerName:       t.TLS.ServerName,
		}
	}
	if o.Address != "" {
		prof.Address = o.Address
	}
	if o.Namespace != "" {
		prof.Namespace = o.Namespace
	}
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal: %w", err)
	}
	return opts, nil
}

type envLookup secret.Lookup

func (e envLookup) LookupEnv(k string) (string, bool) { return e(k) }

// Environ is needed by envconfig to find TEMPORAL_GRPC_META_* variables; it
// only lists the real process environment.
func (e envLookup) Environ() []string { return os.Environ() }
