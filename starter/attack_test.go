package starter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestTokenAttacks throws forged, stale, misdirected and malformed tokens at
// a starter on the real dev server. Each must be refused: 401 when the token
// does not authenticate, 403 when it does but its roles are not enough. The
// control rows prove the same requests succeed with a good token.
func TestTokenAttacks(t *testing.T) {
	t.Parallel()
	// Every forged token comes from this one address: let it fail often
	// (TestAuthFailuresLimitedPerAddress covers the limit).
	h := integrationHarness(t, func(o *Options) { o.Config.AuthFailureBurst = 1000 })
	k := h.keys
	tenant := uniqueTenant("attack")

	attackerRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerP384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	good := func() jwt.MapClaims { return claims(tenant, RoleOperator) }
	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := maps.Clone(good())
		edit(c)
		return c
	}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, k.secret, c, nil) }
	rs := func(c jwt.MapClaims, hdr map[string]any) string {
		return sign(t, jwt.SigningMethodRS256, k.rsa, c, hdr)
	}
	es := func(c jwt.MapClaims, hdr map[string]any) string { return sign(t, jwt.SigningMethodES256, k.ec, c, hdr) }
	valid := hs(good())
	now := time.Now()

	// bearer sends tok the usual way to the list route.
	bearer := func(tok string) req {
		return req{method: http.MethodGet, path: "/v1/workflows", header: http.Header{"Authorization": {"Bearer " + tok}}}
	}
	raw := func(value string) req {
		return req{method: http.MethodGet, path: "/v1/workflows", header: http.Header{"Authorization": {value}}}
	}

	tests := []struct {
		name   string
		req    req
		status int
	}{
		// Controls: these must pass, or the refusals below prove nothing.
		{"control: HS256", bearer(valid), 200},
		{"control: RS256", bearer(rs(good(), nil)), 200},
		{"control: ES256 with kid", bearer(es(good(), map[string]any{"kid": "ec1"})), 200},
		{"control: ES256 without kid", bearer(es(good(), nil)), 200},
		{"control: lowercase scheme (RFC 7235)", raw("bearer " + valid), 200},
		{"control: aud list holding ours", bearer(hs(with(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAudience} }))), 200},
		{"control: expired within the leeway", bearer(hs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() }))), 200},

		// Transport.
		{"no Authorization header", req{method: http.MethodGet, path: "/v1/workflows"}, 401},
		{"empty bearer", raw("Bearer "), 401},
		{"scheme missing", raw(valid), 401},
		{"Basic scheme", raw("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))), 401},
		{"whitespace inside the token", raw("Bearer " + valid[:20] + " " + valid[20:]), 401},
		{"token in the query string", req{method: http.MethodGet, path: "/v1/workflows?access_token=" + valid}, 401},
		{"token in the query string and header", func() req { r := bearer(valid); r.path += "?access_token=" + valid; return r }(), 401},
		{"two Authorization headers", req{method: http.MethodGet, path: "/v1/workflows", header: http.Header{"Authorization": {"Bearer " + valid, "Bearer " + valid}}}, 401},
		{"huge token", bearer(hs(with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 16<<10) }))), 401},

		// Shape.
		{"two segments", bearer(strings.Join(strings.Split(valid, ".")[:2], ".")), 401},
		{"signature stripped", bearer(strings.Join(strings.Split(valid, ".")[:2], ".") + "."), 401},
		{"padded signature", bearer(valid + "="), 401},
		{"tampered payload", bearer(tamper(t, valid, 1, func(m map[string]any) { m["tenant_id"] = "globex" })), 401},
		{"tampered header", bearer(tamper(t, valid, 0, func(m map[string]any) { m["kid"] = "other" })), 401},
		{"roles not a list", bearer(hs(with(func(c jwt.MapClaims) { c["roles"] = RoleOperator }))), 401},
		{"exp not a number", bearer(hs(with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))), 401},

		// Time.
		{"expired", bearer(hs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }))), 401},
		{"exp missing", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "exp") }))), 401},
		{"nbf in the future", bearer(hs(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }))), 401},
		{"iat in the future", bearer(hs(with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }))), 401},
		{"lifetime beyond jwt.max_lifetime", bearer(hs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(48 * time.Hour).Unix() }))), 401},
		{"iat missing (lifetime unknown)", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "iat") }))), 401},
		{"iat backdated, exp far ahead", bearer(hs(with(func(c jwt.MapClaims) { c["iat"] = now.Add(-30 * 24 * time.Hour).Unix() }))), 401},

		// Issuer and audience.
		{"wrong iss", bearer(hs(with(func(c jwt.MapClaims) { c["iss"] = "evil" }))), 401},
		{"iss missing", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "iss") }))), 401},
		{"wrong aud", bearer(hs(with(func(c jwt.MapClaims) { c["aud"] = "other-service" }))), 401},
		{"aud missing", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "aud") }))), 401},

		// Keys and algorithms.
		{"HS256 with a wrong secret", bearer(sign(t, jwt.SigningMethodHS256, []byte("not-the-secret-not-the-secret-!!"), good(), nil)), 401},
		{"RS256 by an attacker's key", bearer(sign(t, jwt.SigningMethodRS256, attackerRSA, good(), nil)), 401},
		{"ES256 by an attacker's key with our kid", bearer(sign(t, jwt.SigningMethodES256, attackerEC, good(), map[string]any{"kid": "ec1"})), 401},
		{"ES256 with a kid naming no key", bearer(es(good(), map[string]any{"kid": "ec2"})), 401},
		{"alg none", bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good(), nil)), 401},
		{"alg NoNe, hand-made", bearer(unsigned(t, map[string]any{"alg": "NoNe", "typ": "JWT"}, good())), 401},
		{"HS/RS confusion: HS256 keyed with our RSA public key PEM", bearer(sign(t, jwt.SigningMethodHS256, k.rsaPEM, good(), nil)), 401},
		{"HS384 with the real secret (alg not pinned)", bearer(sign(t, jwt.SigningMethodHS384, k.secret, good(), nil)), 401},
		{"RS512 with the real key (alg not pinned)", bearer(sign(t, jwt.SigningMethodRS512, k.rsa, good(), nil)), 401},
		{"PS256 with the real key (alg not pinned)", bearer(sign(t, jwt.SigningMethodPS256, k.rsa, good(), nil)), 401},
		{"ES384 by an attacker", bearer(sign(t, jwt.SigningMethodES384, attackerP384, good(), nil)), 401},
		{"kid not a string", bearer(rs(good(), map[string]any{"kid": 7})), 401},
		{"kid path traversal with a guessable key", bearer(sign(t, jwt.SigningMethodHS256, []byte{0}, good(), map[string]any{"kid": "../../../../dev/null"})), 401},
		{"embedded jwk of the attacker", bearer(sign(t, jwt.SigningMethodRS256, attackerRSA, good(), map[string]any{"jwk": rsaJWK(&attackerRSA.PublicKey)})), 401},
		{"jku pointing at the attacker", bearer(sign(t, jwt.SigningMethodRS256, attackerRSA, good(), map[string]any{"jku": "http://127.0.0.1:1/jwks.json"})), 401},
		{"crit header with a valid signature", bearer(rs(good(), map[string]any{"crit": []string{"exp"}})), 401},

		// Claims.
		{"tenant_id missing", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "tenant_id") }))), 401},
		{"tenant_id breaking out of the visibility query", bearer(hs(with(func(c jwt.MapClaims) { c["tenant_id"] = "acme' OR TenantId != '" }))), 401},
		{"tenant_id with a slash", bearer(hs(with(func(c jwt.MapClaims) { c["tenant_id"] = "acme/x" }))), 401},
		{"sub missing", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "sub") }))), 401},
		{"unknown role only", bearer(hs(with(func(c jwt.MapClaims) { c["roles"] = []string{"root"} }))), 403},
		{"no roles", bearer(hs(with(func(c jwt.MapClaims) { delete(c, "roles") }))), 403},
		{"viewer starting a workflow", req{method: http.MethodPost, path: "/v1/workflows", body: `{"type":"sleepy","input":{"note":"n"}}`,
			header: http.Header{"Authorization": {"Bearer " + hs(with(func(c jwt.MapClaims) { c["roles"] = []string{RoleViewer} }))}}}, 403},
	}
	refusals := 0
	for _, tt := range tests {
		if tt.status != 200 {
			refusals++
		}
		t.Run(tt.name, func(t *testing.T) {
			r := h.send(tt.req)
			if r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.status == 200 {
				return
			}
			want := map[int]string{401: codeUnauthenticated, 403: codeForbidden}[tt.status]
			if code := r.errorCode(t); code != want {
				t.Errorf("code %q, want %q", code, want)
			}
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", r.header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(r.body), valid[:30]) {
				t.Errorf("the answer echoes the token: %s", r.body)
			}
		})
	}
	if refusals < 20 {
		t.Errorf("only %d attacks, want at least 20", refusals)
	}
}

// tamper edits segment i (0 header, 1 payload) of tok and keeps the
// original signature.
func tamper(tb testing.TB, tok string, i int, edit func(map[string]any)) string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	data, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	data, _ = json.Marshal(m)
	parts[i] = base64.RawURLEncoding.EncodeToString(data)
	return strings.Join(parts, ".")
}

// unsigned builds a token with an empty signature and any header.
func unsigned(tb testing.TB, header map[string]any, c jwt.MapClaims) string {
	tb.Helper()
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func rsaJWK(k *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kty": "RSA",
		"n":   base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}
}
