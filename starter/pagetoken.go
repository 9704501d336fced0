package starter

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// pageMACBytes is the length of a page token's MAC.
const pageMACBytes = 16

// pageSealer MACs Temporal's list page tokens to the query they page, so
// the starter refuses a forged or altered token at once. Temporal answers
// such a token with Unknown, which the SDK retries until the deadline (a
// 504 after temporal_timeout), and the token is opaque to clients anyway.
type pageSealer struct{ key []byte }

// newPageSealer uses key, or a random key when key is empty.
func newPageSealer(key []byte) pageSealer {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails since Go 1.24
	}
	return pageSealer{key: key}
}

func (p pageSealer) mac(query string, token []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	fmt.Fprintf(m, "%d:%s;", len(query), query)
	m.Write(token)
	return m.Sum(nil)[:pageMACBytes]
}

// seal returns the client's page token for Temporal's token of query.
func (p pageSealer) seal(query string, token []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(p.mac(query, token), token...))
}

// open returns Temporal's token from a client's page token for query, and
// false when it was not sealed here for that very query.
func (p pageSealer) open(query, s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) <= pageMACBytes {
		return nil, false
	}
	token := b[pageMACBytes:]
	if !hmac.Equal(b[:pageMACBytes], p.mac(query, token)) {
		return nil, false
	}
	return token, true
}
