package starter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"contextworker/internal/config"
	"contextworker/internal/secret"
)

func TestLoadKeySetMethods(t *testing.T) {
	t.Parallel()
	k := keys(t)
	ks, err := LoadKeySet(k.jwtConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.Methods(); !slices.Equal(got, []string{algHS256, algRS256, algES256}) {
		t.Errorf("methods %v, want HS256, RS256, ES256", got)
	}
	cfg := k.jwtConfig(t)
	cfg.HS256Secret = secret.Ref{}
	ks, err = LoadKeySet(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.Methods(); slices.Contains(got, algHS256) {
		t.Errorf("methods %v without a secret, want no HS256", got)
	}
}

func TestLoadKeySetRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&smallRSA.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(keys(t).ec)
	one32 := base64.RawURLEncoding.EncodeToString(append([]byte{1}, make([]byte, 31)...))

	tests := []struct {
		name string
		cfg  config.JWT
		want string
	}{
		{"nothing configured", config.JWT{}, "no JWT key configured"},
		{"short secret", config.JWT{HS256Secret: secret.Ref{File: write("short", "tooshort")}}, "want at least 32"},
		{"secret not set", config.JWT{HS256Secret: secret.Env("CW_TEST_UNSET_SECRET_VARIABLE")}, "secret not set"},
		{"small RSA key", config.JWT{PublicKeys: []string{write("small.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))}}, "1024 bits"},
		{"P-384 key", config.JWT{PublicKeys: []string{write("p384.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der384})))}}, "want P-256"},
		{"private key PEM", config.JWT{PublicKeys: []string{write("priv.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})))}}, "want PUBLIC KEY"},
		{"not PEM", config.JWT{PublicKeys: []string{write("junk.pem", "junk")}}, "no PEM public key"},
		{"missing PEM file", config.JWT{PublicKeys: []string{filepath.Join(dir, "absent.pem")}}, "public_keys[0]"},
		{"symmetric JWK", config.JWT{JWKSFile: write("oct.json", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)}, "symmetric keys are not accepted"},
		{"JWKS without signing keys", config.JWT{JWKSFile: write("enc.json", `{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}`)}, "no RS256 or ES256"},
		{"EC point off the curve", config.JWT{JWKSFile: write("bad-ec.json", `{"keys":[{"kty":"EC","crv":"P-256","x":"`+one32+`","y":"`+one32+`"}]}`)}, "bad P-256 point"},
		{"JWKS not JSON", config.JWT{JWKSFile: write("bad.json", `{`)}, "parse JWKS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKeySet(tt.cfg, func(string) (string, bool) { return "", false })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMintHS256RoundTrip(t *testing.T) {
	t.Parallel()
	k := keys(t)
	now := time.Now()
	tok, err := MintHS256(k.secret, TokenRequest{Subject: "dev", Tenant: "acme", Roles: []string{RoleOperator}, TTL: time.Hour, Issuer: testIssuer, Audience: testAudience}, now)
	if err != nil {
		t.Fatal(err)
	}
	ks := &KeySet{}
	if err := ks.AddHMAC(k.secret); err != nil {
		t.Fatal(err)
	}
	v, err := newVerifier(config.JWT{Issuer: testIssuer, Audience: testAudience}, ks, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	if _, err := v.parser.ParseWithClaims(tok, &c, ks.keyFor); err != nil {
		t.Fatal(err)
	}
	if c.TenantID != "acme" || c.Subject != "dev" || !slices.Equal(c.Roles, []string{RoleOperator}) || !c.ExpiresAt.Time.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("claims %+v", c)
	}
	if hdr := strings.Split(tok, ".")[0]; hdr != tokenHeader(t, jwt.SigningMethodHS256) {
		t.Errorf("token header %q, want plain HS256", hdr)
	}
}

func TestMintHS256Refuses(t *testing.T) {
	t.Parallel()
	good := TokenRequest{Subject: "dev", Tenant: "acme", Roles: []string{RoleViewer}, TTL: time.Hour, Issuer: "i", Audience: "a"}
	secret := keys(t).secret
	tests := []struct {
		name string
		edit func(*TokenRequest)
		want string
	}{
		{"unknown role", func(r *TokenRequest) { r.Roles = []string{"root"} }, `unknown role "root"`},
		{"no roles", func(r *TokenRequest) { r.Roles = nil }, "no roles"},
		{"bad tenant", func(r *TokenRequest) { r.Tenant = "a/b" }, `tenant: "a/b" must be`},
		{"ttl too long", func(r *TokenRequest) { r.TTL = 365 * 24 * time.Hour }, "ttl"},
		{"no subject", func(r *TokenRequest) { r.Subject = "" }, "subject is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			if _, err := MintHS256(secret, r, time.Now()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// tokenHeader is the header segment jwt-go writes for method.
func tokenHeader(tb testing.TB, method jwt.SigningMethod) string {
	tb.Helper()
	s, err := jwt.New(method).SigningString()
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Split(s, ".")[0]
}
