package starter

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// clientIDPattern is what a client-chosen id looks like. No "/": the id
// becomes the last segment of "<type>/<tenant>/<id>", and a slash would let
// a client pose as another segment layout.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// idempotencyKeyPattern: printable ASCII without spaces, as in the IETF
// Idempotency-Key draft's examples (UUIDs, ULIDs, random strings).
var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// workflowID is the id the starter gives a workflow it starts without a
// module id: "<type>/<tenant>/<key>".
func workflowID(typeName, tenant, key string) string {
	return typeName + "/" + tenant + "/" + key
}

// idTenant returns the tenant segment of a workflow id ("" if the id does
// not follow the "<prefix>/<tenant>/<key>" convention).
func idTenant(id string) string {
	parts := strings.SplitN(id, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return ""
	}
	return parts[1]
}

// digest hashes parts unambiguously (each is length-prefixed).
func digest(parts ...string) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// keyID is the id segment derived from an Idempotency-Key. The key is
// hashed: it is the client's secret-ish token and may be long.
func keyID(tenant, key string) string {
	sum := digest("idempotency-key", tenant, key)
	return "k-" + hex.EncodeToString(sum[:16])
}

// requestID derives a Temporal start request id from parts, formatted as a
// UUID. Temporal treats a start with the request id of the current run as a
// retry of that start.
func requestID(parts ...string) string {
	sum := digest(parts...)
	return formatUUID(sum[:16])
}

// randomRequestID is a fresh request id: the start is nobody's retry.
func randomRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])  // never fails since Go 1.24
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return formatUUID(b[:])
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// uiURL links a run in the Temporal Web UI, or "" when no UI is configured.
func (s *Server) uiURL(id, runID string) string {
	if s.uiBase == "" || runID == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history",
		s.uiBase, url.PathEscape(s.namespace), url.PathEscape(id), url.PathEscape(runID))
}

// statusURL is where the client reads the workflow's status; the id is one
// escaped path segment.
func (s *Server) statusURL(id string) string {
	return s.publicURL + "/v1/workflows/" + url.PathEscape(id)
}
