package starter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ingestType is the workflow type POST /v1/ingest starts.
const ingestType = "ingest"

// ingestRequest is the body of POST /v1/ingest, the CNS-compatible
// shortcut for submitting one document.
type ingestRequest struct {
	Source string `json:"source"`
	Text   string `json:"text"`
}

// ingest starts an ingest run for the caller's tenant from {source, text}:
// the same start as POST /v1/workflows with type "ingest", through the
// same validation, idempotency and limits.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, ok := s.types[ingestType]; !ok {
		return newError(http.StatusNotFound, codeNotFound, "no module of this starter declares the workflow type %q (known: %s); run the ingest module",
			ingestType, strings.Join(s.typeNames, ", "))
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req ingestRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		return err
	}
	var problems []fieldProblem
	if req.Source == "" {
		problems = append(problems, fieldProblem{Field: "source", Problem: "required"})
	}
	if req.Text == "" {
		problems = append(problems, fieldProblem{Field: "text", Problem: "required"})
	}
	if len(problems) > 0 {
		return invalidInput(problems...)
	}
	input, err := json.Marshal(req) // the ingest input's own field names
	if err != nil {
		return fmt.Errorf("encode ingest input: %w", err)
	}
	return s.startWorkflow(w, r, c, startRequest{Type: ingestType, Input: input})
}
