package devstack

import (
	"fmt"
	"path/filepath"

	"go.temporal.io/sdk/client"

	"contextworker/internal/codec"
	"contextworker/internal/config"
	"contextworker/registry"
)

// dial connects the demos' own client the way the worker connects: with
// temporal.yaml's payload encryption (keys from the binaries' environment),
// so what the demos start is encrypted and what they read is decoded.
func (s *Stack) dial() (client.Client, error) {
	cfg, err := config.Load(filepath.Join(s.o.Root, "temporal.yaml"), false, registry.Default(), s.lookup)
	if err != nil {
		return nil, err
	}
	cdc, err := codec.FromConfig(cfg.Temporal.Encryption, s.lookup)
	if err != nil {
		return nil, err
	}
	s.encrypted = cdc != nil
	opts := client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", s.o.TemporalPort), Logger: quietLogger()}
	codec.Apply(&opts, cdc)
	return client.Dial(opts)
}
