package starter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"contextworker/internal/codec"
)

// testCodec is a codec with one key from the environment lookup.
func testCodec(t *testing.T) *codec.Codec {
	t.Helper()
	kr, err := codec.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return codec.New(kr)
}

// TestCodecEndpointRoles: the remote codec is mounted with the API's
// authentication: no token is 401, a viewer may decode but not encode, an
// operator may encode; anonymous decode works only where configured.
func TestCodecEndpointRoles(t *testing.T) {
	body := `{"payloads":[{"metadata":{"encoding":"` + base64.StdEncoding.EncodeToString([]byte("json/plain")) + `"},"data":"` + base64.StdEncoding.EncodeToString([]byte(`"hello"`)) + `"}]}`
	h := unitHarness(t, func(o *Options) { o.Codec = testCodec(t); o.CodecServer.MaxBodyBytes = 1 << 20 })
	post := func(h *harness, op, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.url+"/codec/default/"+op, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	viewer, operator := h.token("acme", RoleViewer), h.token("acme", RoleOperator)
	for _, tt := range []struct {
		name, op, token string
		want            int
	}{
		{"no token decode", "decode", "", http.StatusUnauthorized},
		{"no token encode", "encode", "", http.StatusUnauthorized},
		{"bad token", "decode", "x.y.z", http.StatusUnauthorized},
		{"viewer decodes", "decode", viewer, http.StatusOK},
		{"viewer may not encode", "encode", viewer, http.StatusForbidden},
		{"operator encodes", "encode", operator, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, b := post(h, tt.op, tt.token); got != tt.want {
				t.Errorf("%s: %d %s, want %d", tt.op, got, b, tt.want)
			}
		})
	}

	// Encode then decode round-trips through the endpoint.
	_, enc := post(h, "encode", operator)
	var encoded struct {
		Payloads []map[string]any `json:"payloads"`
	}
	if err := json.Unmarshal([]byte(enc), &encoded); err != nil || len(encoded.Payloads) != 1 {
		t.Fatalf("encode answer %s: %v", enc, err)
	}
	if strings.Contains(enc, base64.StdEncoding.EncodeToString([]byte(`"hello"`))) {
		t.Fatalf("encoded payload still holds the plaintext: %s", enc)
	}

	t.Run("anonymous decode on loopback", func(t *testing.T) {
		h := unitHarness(t, func(o *Options) {
			o.Codec, o.CodecServer.MaxBodyBytes, o.CodecServer.AnonymousDecodeOnLoopback = testCodec(t), 1<<20, true
			o.Config.Listen = "127.0.0.1:8081"
		})
		if got, b := post(h, "decode", ""); got != http.StatusOK {
			t.Errorf("anonymous decode: %d %s", got, b)
		}
		if got, _ := post(h, "encode", ""); got != http.StatusUnauthorized {
			t.Errorf("anonymous encode: %d, want 401", got)
		}
	})
	t.Run("anonymous decode refused off loopback", func(t *testing.T) {
		_, err := New(func() Options {
			var o Options
			unitHarness(t, func(x *Options) { o = *x })
			o.Codec, o.CodecServer.MaxBodyBytes, o.CodecServer.AnonymousDecodeOnLoopback = testCodec(t), 1<<20, true
			o.Config.Listen = "0.0.0.0:8081"
			return o
		}())
		if err == nil || !strings.Contains(err.Error(), "anonymous_decode_on_loopback needs a loopback") {
			t.Errorf("New = %v", err)
		}
	})
}

// TestCodecEndpointRateLimited: the codec endpoint shares the API's limits
// and answers them as the API does, 429 with Retry-After, not as a 401
// that would tell a client its token is bad.
func TestCodecEndpointRateLimited(t *testing.T) {
	t.Parallel()
	h := unitHarness(t, func(o *Options) {
		o.Codec, o.CodecServer.MaxBodyBytes = testCodec(t), 1<<20
		o.Config.AuthFailuresPerSecond, o.Config.AuthFailureBurst = 0.01, 1
		o.Config.RatePerSecond, o.Config.Burst = 0.01, 1
	})
	decode := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.url+"/codec/default/decode", strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tt := range []struct {
		name, token string
		want        []int
	}{
		{"bad tokens use up the address's failure budget", "x.y.z", []int{http.StatusUnauthorized, http.StatusTooManyRequests}},
		{"a subject over its request rate", h.token("acme", RoleViewer), []int{http.StatusOK, http.StatusTooManyRequests}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				resp := decode(tt.token)
				if resp.StatusCode != want {
					t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
				}
				if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Errorf("request %d: 429 without Retry-After", i)
				}
			}
		})
	}
}
