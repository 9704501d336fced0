package starter

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"contextworker/internal/config"
	"contextworker/internal/dev/testenv"
	"contextworker/internal/secret"
	"contextworker/registry"
)

// Issuer and audience the test starters accept.
const (
	testIssuer   = "contextworker-test"
	testAudience = "starter-test"
)

// testKeys are the private halves of the keys a test starter trusts:
// the HS256 secret, an RSA key (PEM file, no kid) and an EC key (JWKS,
// kid "ec1").
type testKeys struct {
	secret []byte
	rsa    *rsa.PrivateKey
	rsaPEM []byte // the public key as PEM, the classic HS/RS confusion secret
	ec     *ecdsa.PrivateKey
}

var (
	keysOnce   sync.Once
	sharedKeys *testKeys
)

// keys returns the test keys; RSA generation is slow, so they are made once.
func keys(tb testing.TB) *testKeys {
	tb.Helper()
	keysOnce.Do(func() {
		k := &testKeys{secret: []byte("0123456789abcdef0123456789abcdef-test")}
		var err error
		if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
		if err != nil {
			panic(err)
		}
		k.rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		sharedKeys = k
	})
	return sharedKeys
}

// jwtConfig writes the keys where config points (secret file, PEM file,
// JWKS file) and returns that config, so tests load keys the way the
// binary does.
func (k *testKeys) jwtConfig(tb testing.TB) config.JWT {
	tb.Helper()
	dir := tb.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	ecPoint, err := k.ec.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		tb.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "EC", "crv": "P-256", "kid": "ec1", "use": "sig", "alg": "ES256",
			"x": base64.RawURLEncoding.EncodeToString(ecPoint[1:33]),
			"y": base64.RawURLEncoding.EncodeToString(ecPoint[33:])},
		{"kty": "RSA", "kid": "enc1", "use": "enc", "n": "AQAB", "e": "AQAB"}, // skipped: encryption key
	}})
	return config.JWT{
		HS256Secret: secret.Ref{File: write("jwt-secret", append(k.secret, '\n'))},
		PublicKeys:  []string{write("rs256.pem", k.rsaPEM)},
		JWKSFile:    write("jwks.json", jwks),
		Issuer:      testIssuer,
		Audience:    testAudience,
		Leeway:      30 * time.Second,
		MaxLifetime: 24 * time.Hour,
	}
}

// claims returns valid claims for tenant with roles.
func claims(tenant string, roles ...string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub":       "alice",
		"tenant_id": tenant,
		"roles":     roles,
		"iss":       testIssuer,
		"aud":       testAudience,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
	}
}

// sign signs claims with method and key, adding header fields.
func sign(tb testing.TB, method jwt.SigningMethod, key any, c jwt.MapClaims, header map[string]any) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("sign test token: %v", err)
	}
	return s
}

// harness is a starter behind an httptest server.
type harness struct {
	tb   testing.TB
	srv  *Server
	url  string
	keys *testKeys
	tc   client.Client
	http *http.Client
}

// newHarness starts a starter on tc with the test registry; edit may change
// the options before New.
func newHarness(tb testing.TB, tc client.Client, edit func(*Options)) *harness {
	tb.Helper()
	k := keys(tb)
	cfg := config.DefaultStarter()
	cfg.JWT = k.jwtConfig(tb)
	ks, err := LoadKeySet(cfg.JWT, nil)
	if err != nil {
		tb.Fatalf("load test keys: %v", err)
	}
	opts := Options{
		Temporal:  tc,
		Registry:  testRegistry(tb),
		Config:    cfg,
		Namespace: testenv.TemporalNamespace,
		UIBaseURL: "http://ui.test",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Keys:      ks,
	}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if edit != nil {
		edit(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		tb.Fatalf("new starter: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	hc := ts.Client()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return &harness{tb: tb, srv: srv, url: ts.URL, keys: k, tc: tc, http: hc}
}

// unitHarness is a starter whose Temporal is unreachable: for everything
// that is decided before Temporal is asked.
func unitHarness(tb testing.TB, edit func(*Options)) *harness {
	tb.Helper()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: quietSDKLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tc.Close)
	return newHarness(tb, tc, edit)
}

// integrationHarness is a starter on the dev server, with a worker for the
// test module.
func integrationHarness(tb testing.TB, edit func(*Options)) *harness {
	tb.Helper()
	testenv.Integration(tb)
	tc := testenv.TemporalClient(tb)
	startWorker(tb, tc)
	return newHarness(tb, tc, edit)
}

// startWorker runs the test module's workflows until the test ends.
func startWorker(tb testing.TB, tc client.Client) {
	tb.Helper()
	w := worker.New(tc, testQueue, worker.Options{})
	if err := (testModule{}).Register(tb.Context(), registry.Deps{}, w); err != nil {
		tb.Fatal(err)
	}
	if err := w.Start(); err != nil {
		tb.Fatalf("start test worker: %v", err)
	}
	tb.Cleanup(w.Stop)
}

func quietSDKLogger() discardLogger { return discardLogger{} }

// discardLogger drops the SDK's log lines.
type discardLogger struct{}

func (discardLogger) Debug(string, ...any) {}
func (discardLogger) Info(string, ...any)  {}
func (discardLogger) Warn(string, ...any)  {}
func (discardLogger) Error(string, ...any) {}

// token is a valid HS256 token for tenant with roles.
func (h *harness) token(tenant string, roles ...string) string {
	return sign(h.tb, jwt.SigningMethodHS256, h.keys.secret, claims(tenant, roles...), nil)
}

// signHS signs c with the harness's HS256 secret.
func signHS(tb testing.TB, h *harness, c jwt.MapClaims) string {
	tb.Helper()
	return sign(tb, jwt.SigningMethodHS256, h.keys.secret, c, nil)
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the JSON body into v.
func (r reply) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %d answer %s: %v", r.status, r.body, err)
	}
}

// errorCode checks the error envelope and returns its code.
func (r reply) errorCode(tb testing.TB) string {
	tb.Helper()
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.decode(tb, &env)
	if env.Error.Code == "" || env.Error.Message == "" {
		tb.Fatalf("%d answer %s is not an error envelope", r.status, r.body)
	}
	return env.Error.Code
}

// req is a request to send; body is nil, a string sent as is, or a value
// sent as JSON.
type req struct {
	method, path, token string
	body                any
	header              http.Header
}

func (h *harness) send(rq req) reply {
	h.tb.Helper()
	var body io.Reader
	switch b := rq.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.tb.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	r, err := http.NewRequest(rq.method, h.url+rq.path, body)
	if err != nil {
		h.tb.Fatal(err)
	}
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, vs := range rq.header {
		r.Header[k] = vs
	}
	resp, err := h.http.Do(r)
	if err != nil {
		h.tb.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.tb.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

func (h *harness) get(path, token string) reply {
	h.tb.Helper()
	return h.send(req{method: http.MethodGet, path: path, token: token})
}

func (h *harness) post(path, token string, body any) reply {
	h.tb.Helper()
	return h.send(req{method: http.MethodPost, path: path, token: token, body: body})
}

// wfPath is the path of workflow id, plus suffix ("/cancel").
func wfPath(id, suffix string) string {
	return "/v1/workflows/" + url.PathEscape(id) + suffix
}

// startOK starts a workflow and fails the test unless it answers 202.
func (h *harness) startOK(token string, body any, header http.Header) startResponse {
	h.tb.Helper()
	r := h.send(req{method: http.MethodPost, path: "/v1/workflows", token: token, body: body, header: header})
	if r.status != http.StatusAccepted {
		h.tb.Fatalf("start: got %d %s, want 202", r.status, r.body)
	}
	var out startResponse
	r.decode(h.tb, &out)
	return out
}

// eventually polls cond until it holds, failing after timeout. Temporal
// visibility and workflow progress are asynchronous; this bounds the wait
// without sleeping a fixed time.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	wait := 20 * time.Millisecond
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not true after %s; last: %s", what, timeout, last)
		}
		time.Sleep(wait)
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// uniqueTenant returns a tenant no other test uses, so visibility queries
// of parallel tests do not see each other's workflows.
func uniqueTenant(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}
