package starter

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"contextworker/registry"
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

// maxIDLen bounds a workflow id taken from a path; Temporal's own limit is
// 1000 bytes.
const maxIDLen = 1000

// checkID refuses an id from a path that no workflow of ours can have:
// every id the platform makes is printable ASCII (tenants and keys are
// idents, client ids match clientIDPattern), and Temporal's gRPC layer
// refuses other bytes in its headers with an Internal error.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return invalidInput(fieldProblem{Field: "id", Problem: fmt.Sprintf("must be 1 to %d characters", maxIDLen)})
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return invalidInput(fieldProblem{Field: "id", Problem: "must be printable ASCII without spaces"})
		}
	}
	return nil
}

// workflowType is a registered workflow type with its module.
type workflowType struct {
	module registry.Module
	wf     registry.Workflow
}

// ownedBy reports whether id is an id of tenant for workflow type wf: by
// the type's own declaration (registry.Workflow.OwnerOfID), or by the
// starter's convention "<type>/<tenant>/<key>" for the ids it makes when
// the module makes none.
func ownedBy(wf registry.Workflow, id, tenant string) bool {
	if t, ok := wf.OwnerOfID(id); ok && t == tenant {
		return true
	}
	t, ok := registry.ConventionIDTenant(wf.Name, id)
	return ok && t == tenant
}

// mayOwn reports whether id is an id of tenant for any registered type,
// before Temporal is asked which type it is.
func (s *Server) mayOwn(id, tenant string) bool {
	for _, name := range s.typeNames {
		if ownedBy(s.types[name].wf, id, tenant) {
			return true
		}
	}
	return false
}

// keywordAttributes encodes Keyword search attributes as the SDK does: a
// JSON payload with its type in the metadata. They are never passed
// through the data converter: search attributes are indexed by Temporal,
// so they are never encrypted (no sensitive value belongs in one).
func keywordAttributes(attrs map[string]string) *commonpb.SearchAttributes {
	fields := make(map[string]*commonpb.Payload, len(attrs))
	for k, v := range attrs {
		data, _ := json.Marshal(v) // a string always marshals
		fields[k] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON),
				"type":                     []byte(enumspb.INDEXED_VALUE_TYPE_KEYWORD.String()),
			},
			Data: data,
		}
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}
}

// keyword decodes the Keyword search attribute name, or "".
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil || string(p.GetMetadata()[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
		return ""
	}
	var v string
	if err := json.Unmarshal(p.GetData(), &v); err != nil {
		return ""
	}
	return v
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
