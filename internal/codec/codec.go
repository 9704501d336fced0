// Package codec encrypts Temporal payloads: an AES-256-GCM
// converter.PayloadCodec with key rotation, the data and failure converters
// built on it, and the remote-codec HTTP handler the Web UI and the CLI use
// to show decrypted payloads.
//
// Everything that goes through the data converter is encrypted: workflow
// and activity inputs and results, heartbeat details, signals, queries,
// memos, user metadata (summaries, current details) and, through the
// failure converter, failure messages and stack traces. Search attributes
// are NOT: Temporal must index them, so they are stored in plaintext.
// Never put a secret or sensitive value in a search attribute.
//
// This package must never log or return key material or plaintext payload
// contents in errors.
package codec

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// EncodingEncrypted is the payload's "encoding" metadata value.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the metadata entry holding the key id.
	MetadataKeyID = "encryption-key-id"
)

// Plaintext format byte, authenticated with the rest of the plaintext.
const (
	formatRaw   byte = 0 // proto-encoded payload as is
	formatFlate byte = 1 // proto-encoded payload, DEFLATE-compressed
)

// minCompressBytes: below this DEFLATE's framing makes a payload larger.
const minCompressBytes = 64

// DefaultMaxDecodedBytes bounds what one payload may decompress to. It is
// well above Temporal's payload limits (2 MiB by default), so only a
// corrupt or hostile payload reaches it.
const DefaultMaxDecodedBytes = 16 << 20

// Errors a caller can test with errors.Is.
var (
	// ErrUnknownKey: the payload names a key id the keyring does not hold.
	ErrUnknownKey = errors.New("unknown encryption key id")
	// ErrAuthentication: the ciphertext, its key id or its metadata was
	// altered, or was encrypted under a different key with the same id.
	ErrAuthentication = errors.New("payload failed authentication (tampered, or wrong key)")
	// ErrMalformed: the payload is too short or its format is unknown.
	ErrMalformed = errors.New("malformed encrypted payload")
	// ErrTooLarge: the payload decompresses beyond the limit.
	ErrTooLarge = errors.New("decoded payload too large")
)

// Codec is an AES-256-GCM converter.PayloadCodec. Encode compresses each
// payload with DEFLATE when that makes it smaller, then encrypts it with the
// keyring's current key; the key id goes in the payload's metadata. Decode
// decrypts with whichever listed key the payload names, and passes payloads
// that are not encrypted through unchanged, so histories written before
// encryption was turned on stay readable.
type Codec struct {
	keys       *Keyring
	maxDecoded int64
}

// Option adjusts a Codec.
type Option func(*Codec)

// WithMaxDecodedBytes sets the decompression bound (DefaultMaxDecodedBytes).
func WithMaxDecodedBytes(n int64) Option { return func(c *Codec) { c.maxDecoded = n } }

// New returns a codec over keys.
func New(keys *Keyring, opts ...Option) *Codec {
	c := &Codec{keys: keys, maxDecoded: DefaultMaxDecodedBytes}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ converter.PayloadCodec = (*Codec)(nil)

// additionalData binds the key id and encoding to the ciphertext, so a
// payload's metadata can not be swapped without failing authentication.
func additionalData(keyID string) []byte {
	return []byte("contextworker/codec/v1\x00" + EncodingEncrypted + "\x00" + keyID)
}

// Encode encrypts every payload with the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.current
	aead := c.keys.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		raw, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: encode payload %d: marshal: %w", i, err)
		}
		plain, err := pack(raw)
		if err != nil {
			return payloads, fmt.Errorf("codec: encode payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(id),
			},
			Data: aead.Seal(nil, nil, plain, additionalData(id)),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted and returns the others
// unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		d, err := c.decodeOne(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: decode payload %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decodeOne(p *commonpb.Payload) (*commonpb.Payload, error) {
	id := string(p.GetMetadata()[MetadataKeyID])
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %q (this process holds %v): add the key to temporal.encryption.keys", ErrUnknownKey, truncate(id), c.keys.IDs())
	}
	if len(p.GetData()) < aead.Overhead()+1 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(p.GetData()))
	}
	plain, err := aead.Open(nil, nil, p.GetData(), additionalData(id))
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", id, ErrAuthentication)
	}
	raw, err := c.unpack(plain)
	if err != nil {
		return nil, err
	}
	var out commonpb.Payload
	if err := proto.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%w: inner payload: %v", ErrMalformed, err)
	}
	return &out, nil
}

// pack prefixes the format byte, compressing when that saves space.
func pack(raw []byte) ([]byte, error) {
	if len(raw) >= minCompressBytes {
		var buf bytes.Buffer
		buf.Grow(len(raw)/2 + 1)
		buf.WriteByte(formatFlate)
		w, err := flate.NewWriter(&buf, flate.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		if _, err := w.Write(raw); err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		if buf.Len() < len(raw)+1 {
			return buf.Bytes(), nil
		}
	}
	return append([]byte{formatRaw}, raw...), nil
}

// unpack reverses pack, never inflating beyond c.maxDecoded.
func (c *Codec) unpack(plain []byte) ([]byte, error) {
	switch plain[0] {
	case formatRaw:
		return plain[1:], nil
	case formatFlate:
		r := flate.NewReader(bytes.NewReader(plain[1:]))
		defer r.Close()
		raw, err := io.ReadAll(io.LimitReader(r, c.maxDecoded+1))
		if err != nil {
			return nil, fmt.Errorf("%w: decompress: %v", ErrMalformed, err)
		}
		if int64(len(raw)) > c.maxDecoded {
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, c.maxDecoded)
		}
		return raw, nil
	}
	return nil, fmt.Errorf("%w: unknown format %d", ErrMalformed, plain[0])
}

// truncate keeps a hostile key id from flooding an error message.
func truncate(s string) string {
	if len(s) > maxKeyIDLen {
		return s[:maxKeyIDLen] + "…"
	}
	return s
}
