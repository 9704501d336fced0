package config

import (
	"net/url"
	"sort"
	"strings"

	"contextworker/internal/secret"
)

// Encryption configures payload encryption (see internal/codec): every
// payload Temporal stores is AES-256-GCM encrypted with the current key and
// decrypted with whichever listed key it names. Search attributes are never
// encrypted.
type Encryption struct {
	Enabled bool `yaml:"enabled"`
	// CurrentKeyID names the key that encrypts new payloads; it must be in
	// Keys.
	CurrentKeyID string `yaml:"current_key_id"`
	// Keys maps key ids to secret references of 32-byte keys in base64.
	// Keep a retired key listed while any history may still hold payloads
	// it encrypted.
	Keys map[string]secret.Ref `yaml:"keys"`
	// CodecServer configures the remote codec endpoints
	// (/codec/{namespace}/encode and /decode) for the Web UI and the CLI.
	CodecServer CodecServer `yaml:"codec_server"`
}

// CodecServer configures the remote codec HTTP endpoints.
type CodecServer struct {
	// CORSOrigins are the Web UI origins ("https://temporal-ui.example")
	// allowed to call the endpoints from a browser, with credentials.
	CORSOrigins []string `yaml:"cors_origins"`
	// MaxBodyBytes caps a request body (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// AnonymousDecodeOnLoopback lets requests without a token decode (never
	// encode) while the starter listens on a loopback address only: the dev
	// Web UI has no login and so cannot send a token. Refused with any other
	// listen address.
	AnonymousDecodeOnLoopback bool `yaml:"anonymous_decode_on_loopback"`
}

// DefaultEncryption returns the encryption defaults: off.
func DefaultEncryption() Encryption {
	return Encryption{CodecServer: CodecServer{MaxBodyBytes: 8 << 20}}
}

func (e Encryption) validate(p string) []error {
	var errs []error
	if e.Enabled {
		if len(e.Keys) == 0 {
			errs = append(errs, fieldErr(p+".keys", "encryption is enabled but no key is listed"))
		}
		if _, ok := e.Keys[e.CurrentKeyID]; !ok {
			errs = append(errs, fieldErr(p+".current_key_id", "%q is not one of the keys (%s)", e.CurrentKeyID, strings.Join(keyIDs(e.Keys), ", ")))
		}
	}
	for _, id := range keyIDs(e.Keys) {
		if err := e.Keys[id].Validate(); err != nil {
			errs = append(errs, fieldErr(p+".keys."+id, "%v", err))
		}
	}
	if e.CodecServer.MaxBodyBytes <= 0 {
		errs = append(errs, fieldErr(p+".codec_server.max_body_bytes", "must be > 0, got %d", e.CodecServer.MaxBodyBytes))
	}
	for _, o := range e.CodecServer.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs = append(errs, fieldErr(p+".codec_server.cors_origins", "%q is not an origin like https://temporal-ui.example:8233", o))
		}
	}
	return errs
}

func keyIDs(m map[string]secret.Ref) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
