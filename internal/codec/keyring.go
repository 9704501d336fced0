package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"contextworker/internal/secret"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// maxKeyIDLen bounds a key id: it is stored in every payload's metadata.
const maxKeyIDLen = 64

// Keyring holds the keys a Codec may decrypt with and names the one it
// encrypts with. It is immutable once built.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring builds a keyring from raw 32-byte keys by id. current must be
// one of the ids: it encrypts every new payload, and every listed key still
// decrypts what it encrypted before (rotation: add a new key, make it
// current, keep the old one until no history needs it).
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: keyring: no keys")
	}
	kr := &Keyring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, k := range keys {
		if err := validKeyID(id); err != nil {
			return nil, fmt.Errorf("codec: keyring: %w", err)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("codec: keyring: key %q is %d bytes, want %d (AES-256)", id, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("codec: keyring: key %q: %w", id, err)
		}
		// Random 96-bit nonces, prepended to the ciphertext by Seal: no
		// counter state to keep across processes or restarts.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("codec: keyring: key %q: %w", id, err)
		}
		kr.aeads[id] = aead
	}
	if _, ok := kr.aeads[current]; !ok {
		return nil, fmt.Errorf("codec: keyring: current key %q is not among the keys (%s)", current, strings.Join(kr.IDs(), ", "))
	}
	return kr, nil
}

// LoadKeyring resolves each key's secret reference and builds the keyring.
// A key's secret is its 32 bytes in standard base64 (44 characters), as
// `head -c 32 /dev/urandom | base64` prints. Errors name the key id and
// its reference, never the value.
func LoadKeyring(current string, refs map[string]secret.Ref, env secret.Lookup) (*Keyring, error) {
	keys := make(map[string][]byte, len(refs))
	var errs []error
	for _, id := range sortedRefIDs(refs) {
		ref := refs[id]
		v, err := ref.Resolve(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("codec: key %q: %w", id, err))
			continue
		}
		k, err := ParseKey(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("codec: key %q (%s): %w", id, ref, err))
			continue
		}
		keys[id] = k
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return NewKeyring(current, keys)
}

// ParseKey decodes a key written as standard base64 of 32 bytes.
// Surrounding whitespace is ignored.
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not base64: write the key as `head -c 32 /dev/urandom | base64` prints it")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d (AES-256)", len(k), KeySize)
	}
	return k, nil
}

// Current is the id of the key that encrypts new payloads.
func (k *Keyring) Current() string { return k.current }

// IDs lists the key ids, sorted.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func validKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("key id %q must be 1 to %d characters", id, maxKeyIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("key id %q may hold only letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

func sortedRefIDs(m map[string]secret.Ref) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
