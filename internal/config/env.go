package config

import (
	"fmt"
	"os"

	"time"

	"contextworker/internal/secret"
)

// Environment variables that override the file. The Temporal connection's
// own variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) are read by
// ClientOptions, following the Temporal convention.
const (
	EnvLogFormat       = "CW_LOG_FORMAT"
	EnvLogLevel        = "CW_LOG_LEVEL"
	EnvShutdownTimeout = "CW_WORKER_SHUTDOWN_TIMEOUT"
	EnvUIURL           = "CW_TEMPORAL_UI_URL"
	EnvStarterListen   = "CW_STARTER_LISTEN"
	EnvMetricsAddr     = "CW_WORKER_METRICS_ADDR"
)

// ApplyEnv applies the CW_* environment overrides. A malformed value is an
// error naming the variable.
func (c *Config) ApplyEnv(env secret.Lookup) error {
	if env == nil {
		env = os.LookupEnv
	}
	get := func(k string) (string, bool) {
		v, ok := env(k)
		return v, ok && v != ""
	}
	if v, ok := get(EnvLogFormat); ok {
		c.Log.Format = v
	}
	if v, ok := get(EnvLogLevel); ok {
		c.Log.Level = v
	}
	if v, ok := get(EnvUIURL); ok {
		c.Temporal.UIURL = v
	}
	if v, ok := get(EnvMetricsAddr); ok {
		c.Worker.MetricsAddr = v
	}
	if v, ok := get(EnvStarterListen); ok {
		c.Starter.Listen = v
	}
	if v, ok := get(EnvShutdownTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("config: $%s: %q is not a duration (like 30s)", EnvShutdownTimeout, v)
		}
		c.Worker.ShutdownTimeout = d
	}
	return nil
}
