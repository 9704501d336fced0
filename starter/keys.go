package starter

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"

	"github.com/golang-jwt/jwt/v5"

	"contextworker/internal/config"
	"contextworker/internal/secret"
)

// Accepted signing algorithms. Each needs a key of its own type, so one
// algorithm's key can never verify another's signature.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
)

// Key size floors: shorter keys are refused when they are loaded.
const (
	minHMACBytes = 32
	minRSABits   = 2048
)

// KeySet holds the keys that verify tokens. It is built once at start and
// only read afterwards. The accepted algorithms follow from its keys.
type KeySet struct {
	hmac   []byte
	public []publicKey
}

// publicKey is an RS256 or ES256 verification key. A key without kid
// matches tokens with any kid; a key with one only tokens with that kid or
// with none.
type publicKey struct {
	kid string
	alg string
	key crypto.PublicKey
}

// LoadKeySet builds the key set that cfg describes: the HS256 secret
// (resolved through env), the PEM public keys and the JWKS file. It fails
// when no key is configured, since then no token could ever be accepted.
func LoadKeySet(cfg config.JWT, env secret.Lookup) (*KeySet, error) {
	ks := &KeySet{}
	if !cfg.HS256Secret.IsZero() {
		s, err := cfg.HS256Secret.Resolve(env)
		if err != nil {
			return nil, fmt.Errorf("starter.jwt.hs256_secret: %w", err)
		}
		if err := ks.AddHMAC([]byte(s)); err != nil {
			return nil, fmt.Errorf("starter.jwt.hs256_secret %s: %w", cfg.HS256Secret, err)
		}
	}
	for i, path := range cfg.PublicKeys {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("starter.jwt.public_keys[%d]: %w", i, err)
		}
		if err := ks.AddPEM("", data); err != nil {
			return nil, fmt.Errorf("starter.jwt.public_keys[%d] %s: %w", i, path, err)
		}
	}
	if cfg.JWKSFile != "" {
		data, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("starter.jwt.jwks_file: %w", err)
		}
		if err := ks.AddJWKS(data); err != nil {
			return nil, fmt.Errorf("starter.jwt.jwks_file %s: %w", cfg.JWKSFile, err)
		}
	}
	if len(ks.Methods()) == 0 {
		return nil, errors.New("no JWT key configured: set starter.jwt.hs256_secret (e.g. env:CW_JWT_SECRET), public_keys or jwks_file")
	}
	return ks, nil
}

// AddHMAC sets the HS256 secret, which must be at least 32 bytes.
func (ks *KeySet) AddHMAC(secret []byte) error {
	if len(secret) < minHMACBytes {
		return fmt.Errorf("HS256 secret is %d bytes, want at least %d (hint: openssl rand -hex 32)", len(secret), minHMACBytes)
	}
	ks.hmac = slices.Clone(secret)
	return nil
}

// AddPublicKey adds an RSA (RS256, at least 2048 bits) or ECDSA P-256
// (ES256) public key under kid, which may be empty.
func (ks *KeySet) AddPublicKey(kid string, key crypto.PublicKey) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key %q has %d bits, want at least %d", kid, k.N.BitLen(), minRSABits)
		}
		ks.public = append(ks.public, publicKey{kid: kid, alg: algRS256, key: k})
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("EC key %q is on %s, want P-256 (ES256)", kid, k.Curve.Params().Name)
		}
		ks.public = append(ks.public, publicKey{kid: kid, alg: algES256, key: k})
	default:
		return fmt.Errorf("key %q: unsupported type %T (want RSA or ECDSA P-256)", kid, key)
	}
	return nil
}

// AddPEM adds every public key in PEM data ("PUBLIC KEY" blocks, PKIX).
func (ks *KeySet) AddPEM(kid string, data []byte) error {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			// A private key here is a deployment mistake worth stopping for.
			return fmt.Errorf("PEM block %q: want PUBLIC KEY", block.Type)
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return fmt.Errorf("parse public key: %w", err)
		}
		if err := ks.AddPublicKey(kid, key); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("no PEM public key found")
	}
	return nil
}

// jwk is the part of RFC 7517 a verification key needs.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// AddJWKS adds the RS256 and ES256 signing keys of a JWKS document. Keys for
// encryption or other algorithms are skipped; a symmetric key is refused, as
// the HS256 secret comes only from a secret reference.
func (ks *KeySet) AddJWKS(data []byte) error {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parse JWKS: %w", err)
	}
	added := 0
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var (
			key crypto.PublicKey
			err error
		)
		switch {
		case k.Kty == "oct":
			return fmt.Errorf("keys[%d] %q: symmetric keys are not accepted in a JWKS file (use jwt.hs256_secret)", i, k.Kid)
		case k.Kty == "RSA" && (k.Alg == "" || k.Alg == algRS256):
			key, err = k.rsa()
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == algES256):
			key, err = k.ecdsa()
		default:
			continue // another algorithm: not ours to accept
		}
		if err == nil {
			err = ks.AddPublicKey(k.Kid, key)
		}
		if err != nil {
			return fmt.Errorf("keys[%d] %q: %w", i, k.Kid, err)
		}
		added++
	}
	if added == 0 {
		return errors.New("no RS256 or ES256 signing key in JWKS")
	}
	return nil
}

func (k jwk) rsa() (*rsa.PublicKey, error) {
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("bad modulus n")
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("bad exponent e")
	}
	exp := int(new(big.Int).SetBytes(e).Int64())
	if exp < 3 || exp%2 == 0 {
		return nil, errors.New("bad exponent e")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
}

func (k jwk) ecdsa() (*ecdsa.PublicKey, error) {
	x, errX := base64.RawURLEncoding.DecodeString(k.X)
	y, errY := base64.RawURLEncoding.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("bad P-256 coordinates")
	}
	// ParseUncompressedPublicKey also checks that the point is on the curve.
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("bad P-256 point: %w", err)
	}
	return key, nil
}

// Methods lists the algorithms for which the set has a key.
func (ks *KeySet) Methods() []string {
	var m []string
	if ks.hmac != nil {
		m = append(m, algHS256)
	}
	for _, k := range ks.public {
		if !slices.Contains(m, k.alg) {
			m = append(m, k.alg)
		}
	}
	return m
}

// keyFor is the jwt.Keyfunc: it picks the key for the token's algorithm by
// type (so HS256 never gets an RSA key's bytes) and kid. Keys named by the
// token itself (jku, x5u, jwk) are never used.
func (ks *KeySet) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("crit header is not supported")
	}
	kid := ""
	if v, ok := t.Header["kid"]; ok {
		s, isString := v.(string)
		if !isString {
			return nil, errors.New("kid is not a string")
		}
		kid = s
	}
	alg := t.Method.Alg()
	if alg == algHS256 {
		if ks.hmac == nil {
			return nil, errors.New("no HS256 key")
		}
		return ks.hmac, nil
	}
	var keys []jwt.VerificationKey
	for _, k := range ks.public {
		if k.alg == alg && (k.kid == "" || kid == "" || k.kid == kid) {
			keys = append(keys, k.key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no %s key for kid %q", alg, kid)
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
}
