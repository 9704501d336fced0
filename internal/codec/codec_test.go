package codec

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func key(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func keyring(t *testing.T, current string, keys map[string][]byte) *Keyring {
	t.Helper()
	kr, err := NewKeyring(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func jsonPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const marker = "SKU-PLAINTEXT-4711"

func TestRoundTrip(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	random := make([]byte, 4096)
	rand.Read(random) //nolint:errcheck // never fails
	tests := []struct {
		name string
		in   *commonpb.Payload
	}{
		{"small json", jsonPayload(t, map[string]string{"sku": marker})},
		{"nil value", jsonPayload(t, nil)},
		{"compressible", jsonPayload(t, strings.Repeat(marker+" ", 5000))},
		{"incompressible bytes", jsonPayload(t, random)},
		{"empty payload", &commonpb.Payload{}},
		{"metadata only", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain"), "x": []byte(marker)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encode([]*commonpb.Payload{tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(enc[0].Metadata[converter.MetadataEncoding]); got != EncodingEncrypted {
				t.Fatalf("encoding = %q", got)
			}
			if got := string(enc[0].Metadata[MetadataKeyID]); got != "k1" {
				t.Fatalf("key id = %q", got)
			}
			wire, _ := proto.Marshal(enc[0])
			if bytes.Contains(wire, []byte(marker)) || bytes.Contains(wire, []byte("json/plain")) {
				t.Fatal("encoded payload holds plaintext")
			}
			dec, err := c.Decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(dec[0], tt.in) {
				t.Fatalf("round trip changed the payload:\n got %v\nwant %v", dec[0], tt.in)
			}
		})
	}
}

func TestPlaintextPassesThroughDecode(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	p := jsonPayload(t, "written before encryption was on")
	dec, err := c.Decode([]*commonpb.Payload{p})
	if err != nil || !proto.Equal(dec[0], p) {
		t.Fatalf("plaintext payload not passed through: %v %v", dec, err)
	}
}

func TestRotation(t *testing.T) {
	old, next := key(t), key(t)
	before := New(keyring(t, "2025-01", map[string][]byte{"2025-01": old}))
	p := jsonPayload(t, marker)
	encOld, err := before.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	after := New(keyring(t, "2026-01", map[string][]byte{"2025-01": old, "2026-01": next}))
	dec, err := after.Decode(encOld)
	if err != nil || !proto.Equal(dec[0], p) {
		t.Fatalf("rotated keyring cannot read the old key's payload: %v", err)
	}
	encNew, err := after.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	if id := string(encNew[0].Metadata[MetadataKeyID]); id != "2026-01" {
		t.Fatalf("new payloads use key %q, want the current 2026-01", id)
	}
	if _, err := before.Decode(encNew); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring decoding a new-key payload: err = %v, want ErrUnknownKey", err)
	}
	retired := New(keyring(t, "2026-01", map[string][]byte{"2026-01": next}))
	_, err = retired.Decode(encOld)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"2025-01"`) {
		t.Fatalf("retired key: err = %v, want ErrUnknownKey naming 2025-01", err)
	}
}

func TestTamperDetection(t *testing.T) {
	k1, k2 := key(t), key(t)
	c := New(keyring(t, "k1", map[string][]byte{"k1": k1, "k2": k2}))
	enc, err := c.Encode([]*commonpb.Payload{jsonPayload(t, strings.Repeat(marker, 20))})
	if err != nil {
		t.Fatal(err)
	}
	good := enc[0]
	n := len(good.Data)
	tests := []struct {
		name   string
		mutate func(p *commonpb.Payload)
		want   error
	}{
		{"flip a nonce bit", func(p *commonpb.Payload) { p.Data[0] ^= 1 }, ErrAuthentication},
		{"flip a ciphertext bit", func(p *commonpb.Payload) { p.Data[n/2] ^= 0x80 }, ErrAuthentication},
		{"flip a tag bit", func(p *commonpb.Payload) { p.Data[n-1] ^= 1 }, ErrAuthentication},
		{"append a byte", func(p *commonpb.Payload) { p.Data = append(p.Data, 0) }, ErrAuthentication},
		{"drop the last byte", func(p *commonpb.Payload) { p.Data = p.Data[:n-1] }, ErrAuthentication},
		{"truncated to nothing", func(p *commonpb.Payload) { p.Data = p.Data[:10] }, ErrMalformed},
		{"key id swapped to another held key", func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") }, ErrAuthentication},
		{"unknown key id", func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("nope") }, ErrUnknownKey},
		{"key id removed", func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) }, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proto.Clone(good).(*commonpb.Payload)
			tt.mutate(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("same id, different key", func(t *testing.T) {
		other := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
		if _, err := other.Decode([]*commonpb.Payload{good}); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("err = %v, want ErrAuthentication", err)
		}
	})
	t.Run("untouched still decodes", func(t *testing.T) {
		if _, err := c.Decode([]*commonpb.Payload{good}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCompression(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	random := make([]byte, 8192)
	rand.Read(random)       //nolint:errcheck // never fails
	overhead := 12 + 16 + 1 // nonce, tag, format byte
	tests := []struct {
		name    string
		in      *commonpb.Payload
		maxSize func(raw int) int
	}{
		// 100 KB of repetitive JSON must shrink well below its size.
		{"repetitive json compresses", jsonPayload(t, strings.Repeat(`{"sku":"A-1","price":"9.99"},`, 3500)), func(raw int) int { return raw / 10 }},
		// Random bytes do not compress: stored raw, never larger than raw + overhead.
		{"random stays raw", &commonpb.Payload{Data: random}, func(raw int) int { return raw + overhead }},
		{"tiny stays raw", jsonPayload(t, "x"), func(raw int) int { return raw + overhead }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := proto.Marshal(tt.in)
			enc, err := c.Encode([]*commonpb.Payload{tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if got, limit := len(enc[0].Data), tt.maxSize(len(raw)); got > limit {
				t.Fatalf("encoded %d bytes from %d raw, want at most %d", got, len(raw), limit)
			}
		})
	}
}

// TestDecompressionBound: a payload that inflates beyond the limit is
// refused after reading at most limit+1 bytes, not expanded in full.
func TestDecompressionBound(t *testing.T) {
	kr := keyring(t, "k1", map[string][]byte{"k1": key(t)})
	bomb := &commonpb.Payload{Data: make([]byte, 4<<20)} // 4 MiB of zeros deflates to ~4 KiB
	enc, err := New(kr).Encode([]*commonpb.Payload{bomb})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc[0].Data) > 64<<10 {
		t.Fatalf("zeros did not compress: %d bytes", len(enc[0].Data))
	}
	if _, err := New(kr, WithMaxDecodedBytes(1<<20)).Decode(enc); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, err := New(kr).Decode(enc); err != nil {
		t.Fatalf("within the default bound: %v", err)
	}
}

func TestNoncesUnique(t *testing.T) {
	c := New(keyring(t, "k1", map[string][]byte{"k1": key(t)}))
	p := jsonPayload(t, marker)
	const n = 2000
	in := make([]*commonpb.Payload, n)
	for i := range in {
		in[i] = p
	}
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	nonces := make(map[string]bool, n)
	for _, e := range enc {
		nonce := string(e.Data[:12])
		if nonces[nonce] {
			t.Fatal("nonce repeated")
		}
		nonces[nonce] = true
	}
}

// FuzzDecode: whatever a payload claiming our encoding holds, Decode
// returns an error or a payload, never panics, and never inflates beyond
// its bound.
func FuzzDecode(f *testing.F) {
	kr, err := NewKeyring("k1", map[string][]byte{"k1": make([]byte, KeySize)})
	if err != nil {
		f.Fatal(err)
	}
	c := New(kr, WithMaxDecodedBytes(1<<20))
	enc, _ := c.Encode([]*commonpb.Payload{{Data: []byte(strings.Repeat("seed ", 100))}})
	f.Add(enc[0].Data, []byte("k1"))
	f.Add([]byte{}, []byte("k1"))
	f.Add([]byte("short"), []byte("nope"))
	f.Fuzz(func(t *testing.T, data, keyID []byte) {
		p := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: keyID}, Data: data}
		out, err := c.Decode([]*commonpb.Payload{p})
		if err == nil && len(out) != 1 {
			t.Fatalf("decoded %d payloads from 1", len(out))
		}
	})
}
