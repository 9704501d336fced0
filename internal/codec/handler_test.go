package codec

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const uiOrigin = "http://localhost:8233"

// roleAuth stands in for the starter's JWT check: the role comes from the
// bearer token itself. Viewers decode; operators also encode.
func roleAuth(r *http.Request, op string) error {
	role, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok:
		return ErrUnauthenticated
	case role == "operator", role == "viewer" && op == OpDecode:
		return nil
	case role == "viewer":
		return fmt.Errorf("role viewer may not %s: %w", op, ErrForbidden)
	}
	return fmt.Errorf("bad token: %w", ErrUnauthenticated)
}

func testServer(t *testing.T, c *Codec, maxBody int64) *httptest.Server {
	t.Helper()
	h, err := NewHandler(c, HandlerOptions{Namespaces: []string{"default"}, CORSOrigins: []string{uiOrigin}, MaxBodyBytes: maxBody, Authorize: roleAuth})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/codec/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDecodeAsTheWebUISendsIt posts the body the Web UI sends: proto JSON
// with base64 metadata values and data, from the UI's origin, with its
// X-Namespace header and a bearer token.
func TestDecodeAsTheWebUISendsIt(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	srv := testServer(t, c, 1<<20)
	plain := jsonPayload(t, map[string]string{"sku": marker})
	enc, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	body := fmt.Sprintf(`{"payloads":[{"metadata":{"encoding":%q,"encryption-key-id":%q},"data":%q}]}`,
		b64(enc[0].Metadata["encoding"]), b64(enc[0].Metadata[MetadataKeyID]), b64(enc[0].Data))
	resp, out := do(t, http.MethodPost, srv.URL+"/codec/default/decode", body, map[string]string{
		"Origin": uiOrigin, "X-Namespace": "default", "Content-Type": "application/json", "Authorization": "Bearer viewer",
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Fatalf("Access-Control-Allow-Origin = %q", got)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatal("credentials not allowed")
	}
	var got commonpb.Payloads
	if err := protojson.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	if len(got.Payloads) != 1 || !proto.Equal(got.Payloads[0], plain) {
		t.Fatalf("decoded %v, want %v", got.Payloads, plain)
	}
}

// TestSDKRemoteCodec drives the handler with the SDK's own remote codec
// client, the one `temporal … --codec-endpoint` uses.
func TestSDKRemoteCodec(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	srv := testServer(t, c, 1<<20)
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint:      srv.URL + "/codec/default",
		ModifyRequest: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer operator"); return nil },
	})
	in := []*commonpb.Payload{jsonPayload(t, marker), jsonPayload(t, strings.Repeat("x", 1000))}
	enc, err := remote.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[0].Metadata["encoding"]) != EncodingEncrypted {
		t.Fatalf("remote encode did not encrypt: %v", enc[0])
	}
	local, err := c.Decode(enc)
	if err != nil || !proto.Equal(local[1], in[1]) {
		t.Fatalf("local decode of remote encode: %v", err)
	}
	dec, err := remote.Decode(enc)
	if err != nil || !proto.Equal(dec[0], in[0]) {
		t.Fatalf("remote decode: %v %v", dec, err)
	}
}

func TestHandlerRefusals(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	srv := testServer(t, c, 4096)
	enc, _ := c.Encode([]*commonpb.Payload{jsonPayload(t, marker)})
	valid, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	tampered := proto.Clone(enc[0]).(*commonpb.Payload)
	tampered.Data[20] ^= 1
	tamperedBody, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{tampered}})
	viewer := map[string]string{"Authorization": "Bearer viewer"}
	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
		wantBody                 string
	}{
		{"no token", "POST", "/codec/default/decode", string(valid), nil, 401, "authentication required"},
		{"bad token", "POST", "/codec/default/decode", string(valid), map[string]string{"Authorization": "Bearer nobody"}, 401, "bad token"},
		{"viewer may not encode", "POST", "/codec/default/encode", `{"payloads":[]}`, viewer, 403, "role viewer may not encode"},
		{"viewer may decode", "POST", "/codec/default/decode", string(valid), viewer, 200, base64.StdEncoding.EncodeToString([]byte(`"` + marker + `"`))},
		{"foreign origin", "POST", "/codec/default/decode", string(valid), map[string]string{"Authorization": "Bearer viewer", "Origin": "https://evil.example"}, 403, "not allowed"},
		{"body too large", "POST", "/codec/default/decode", `{"payloads":[{"data":"` + strings.Repeat("A", 8192) + `"}]}`, viewer, 413, "over 4096 bytes"},
		{"other namespace", "POST", "/codec/prod/decode", string(valid), viewer, 404, `namespace "prod"`},
		{"X-Namespace mismatch", "POST", "/codec/default/decode", string(valid), map[string]string{"Authorization": "Bearer viewer", "X-Namespace": "prod"}, 400, "does not match"},
		{"unknown operation", "POST", "/codec/default/rotate", string(valid), viewer, 404, "use /codec/{namespace}/encode"},
		{"no namespace", "POST", "/codec//decode", string(valid), viewer, 404, "not found"},
		{"GET", "GET", "/codec/default/decode", "", viewer, 405, "not allowed"},
		{"not JSON", "POST", "/codec/default/decode", "payloads=1", viewer, 400, "proto JSON"},
		{"tampered payload", "POST", "/codec/default/decode", string(tamperedBody), viewer, 400, "failed authentication"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, srv.URL+tt.path, tt.body, tt.hdr)
			if resp.StatusCode != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.want, tt.wantBody)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	srv := testServer(t, c, 1<<20)
	preflight := map[string]string{"Origin": uiOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace,authorization"}
	resp, body := do(t, http.MethodOptions, srv.URL+"/codec/default/decode", "", preflight)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight status %d: %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      uiOrigin,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "POST, OPTIONS",
		"Access-Control-Allow-Headers":     allowedHeaders,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	preflight["Origin"] = "https://evil.example"
	if resp, _ := do(t, http.MethodOptions, srv.URL+"/codec/default/decode", "", preflight); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestNewHandlerOptions(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	tests := []struct {
		name string
		c    converter.PayloadCodec
		o    HandlerOptions
		want string
	}{
		{"no codec", nil, HandlerOptions{MaxBodyBytes: 1, Authorize: AllowAll}, "no codec"},
		{"no auth", c, HandlerOptions{MaxBodyBytes: 1}, "no Authorize hook"},
		{"no body limit", c, HandlerOptions{Authorize: AllowAll}, "MaxBodyBytes must be > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHandler(tt.c, tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
