package codec

import (
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"contextworker/internal/config"
	"contextworker/internal/secret"
)

// FromConfig builds the codec that temporal.encryption describes, resolving
// its keys' secret references. It returns nil, nil when encryption is off.
func FromConfig(enc config.Encryption, env secret.Lookup) (*Codec, error) {
	if !enc.Enabled {
		return nil, nil
	}
	kr, err := LoadKeyring(enc.CurrentKeyID, enc.Keys, env)
	if err != nil {
		return nil, fmt.Errorf("temporal.encryption: %w", err)
	}
	return New(kr), nil
}

// DataConverter returns Temporal's default data converter with every payload
// passed through c.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter returns a failure converter that moves failure messages
// and stack traces into an encoded payload, so they are encrypted with the
// rest (Temporal's default keeps them in plaintext).
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Apply sets opts' data and failure converters to encrypt with c. Every
// client of a namespace (workers, the starter, tools) must use the same
// keys, or it can neither read nor write its payloads. A nil c leaves opts
// unchanged.
func Apply(opts *client.Options, c *Codec) {
	if c == nil {
		return
	}
	dc := DataConverter(c)
	opts.DataConverter = dc
	opts.FailureConverter = FailureConverter(dc)
}
