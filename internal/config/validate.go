package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"

	"contextworker/registry"
)

// Validate checks the whole configuration, including decoded module
// sections, and reports every problem at once.
func (c *Config) Validate() error {
	errs := append([]error{}, c.problems...)
	errs = append(errs,
		c.Temporal.validate("temporal"),
		c.Worker.validate("worker"),
		c.Postgres.validate("postgres"),
		c.Log.validate("log"),
		c.Starter.validate("starter"),
	)
	for _, name := range sortedModuleNames(c.decoded) {
		if v, ok := c.decoded[name].(registry.Validator); ok {
			if err := v.Validate(); err != nil {
				errs = append(errs, prefixAll("modules."+name, err))
			}
		}
	}
	if err := joinErrs(errs); err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	return nil
}

func sortedModuleNames(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// prefixAll prefixes each joined problem in err with path.
func prefixAll(path string, err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s.%w", path, e)
	}
	return errors.Join(out...)
}

func (t Temporal) validate(p string) error {
	var errs []error
	if t.Address != "" {
		if _, _, err := net.SplitHostPort(t.Address); err != nil {
			errs = append(errs, fieldErr(p+".address", "%q is not host:port", t.Address))
		}
	}
	if t.ConnectTimeout <= 0 {
		errs = append(errs, fieldErr(p+".connect_timeout", "must be > 0, got %s", t.ConnectTimeout))
	}
	if t.UIURL != "" {
		if u, err := url.Parse(t.UIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, fieldErr(p+".ui_url", "%q is not an http(s) URL", t.UIURL))
		}
	}
	if !t.APIKey.IsZero() {
		if err := t.APIKey.Validate(); err != nil {
			errs = append(errs, fieldErr(p+".api_key", "%v", err))
		}
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		errs = append(errs, fieldErr(p+".tls", "cert_file and key_file go together (mTLS)"))
	}
	errs = append(errs, t.Encryption.validate(p+".encryption")...)
	return errors.Join(errs...)
}

func (w Worker) validate(p string) error {
	var errs []error
	if w.ShutdownTimeout <= 0 {
		errs = append(errs, fieldErr(p+".shutdown_timeout", "must be > 0, got %s", w.ShutdownTimeout))
	}
	if w.MaxConcurrentActivities < 0 {
		errs = append(errs, fieldErr(p+".max_concurrent_activities", "must be >= 0, got %d", w.MaxConcurrentActivities))
	}
	if w.MaxConcurrentWorkflowTasks < 0 {
		errs = append(errs, fieldErr(p+".max_concurrent_workflow_tasks", "must be >= 0, got %d", w.MaxConcurrentWorkflowTasks))
	}
	if w.MemoryLimitMiB < 0 {
		errs = append(errs, fieldErr(p+".memory_limit_mib", "must be >= 0, got %d", w.MemoryLimitMiB))
	}
	if w.GCPercent < 0 {
		errs = append(errs, fieldErr(p+".gc_percent", "must be >= 0, got %d", w.GCPercent))
	}
	if r := w.Tracing.SampleRatio; r < 0 || r > 1 {
		errs = append(errs, fieldErr(p+".tracing.sample_ratio", "must be between 0 and 1, got %v", r))
	}
	if e := w.Tracing.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fieldErr(p+".tracing.otlp_endpoint", "%q is not an http(s) URL", e))
		}
	}
	if w.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(w.MetricsAddr); err != nil {
			errs = append(errs, fieldErr(p+".metrics_addr", "%q is not host:port", w.MetricsAddr))
		}
	}
	return errors.Join(errs...)
}

func (pg Postgres) validate(p string) error {
	var errs []error
	if err := pg.DSN.Validate(); err != nil {
		errs = append(errs, fieldErr(p+".dsn", "%v", err))
	}
	if pg.MaxConns < 1 {
		errs = append(errs, fieldErr(p+".max_conns", "must be >= 1, got %d", pg.MaxConns))
	}
	if pg.ConnectTimeout <= 0 {
		errs = append(errs, fieldErr(p+".connect_timeout", "must be > 0, got %s", pg.ConnectTimeout))
	}
	return errors.Join(errs...)
}

func (l Log) validate(p string) error {
	var errs []error
	if l.Format != "json" && l.Format != "text" {
		errs = append(errs, fieldErr(p+".format", "%q is not json or text", l.Format))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, l.Level) {
		errs = append(errs, fieldErr(p+".level", "%q is not debug, info, warn or error", l.Level))
	}
	return errors.Join(errs...)
}

func (s Starter) validate(p string) error {
	var errs []error
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs = append(errs, fieldErr(p+".listen", "%q is not host:port", s.Listen))
	}
	if s.MaxBodyBytes <= 0 {
		errs = append(errs, fieldErr(p+".max_body_bytes", "must be > 0, got %d", s.MaxBodyBytes))
	}
	if s.RatePerSecond <= 0 || s.Burst < 1 {
		errs = append(errs, fieldErr(p+".rate_per_second", "rate_per_second must be > 0 and burst >= 1"))
	}
	if s.AuthFailuresPerSecond <= 0 || s.AuthFailureBurst < 1 {
		errs = append(errs, fieldErr(p+".auth_failures_per_second", "auth_failures_per_second must be > 0 and auth_failure_burst >= 1"))
	}
	if s.TemporalTimeout <= 0 {
		errs = append(errs, fieldErr(p+".temporal_timeout", "must be > 0, got %s", s.TemporalTimeout))
	}
	if !s.JWT.HS256Secret.IsZero() {
		if err := s.JWT.HS256Secret.Validate(); err != nil {
			errs = append(errs, fieldErr(p+".jwt.hs256_secret", "%v", err))
		}
	}
	if s.JWT.Leeway < 0 || s.JWT.Leeway > 5*60e9 {
		errs = append(errs, fieldErr(p+".jwt.leeway", "must be between 0 and 5m, got %s", s.JWT.Leeway))
	}
	errs = append(errs, s.ValidateLimits(p))
	return errors.Join(errs...)
}
