package starter

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openapiDoc is the hand-written OpenAPI 3 description of the API. It lives
// in the repository next to the routes; TestOpenAPIMatchesRoutes keeps the
// two in step.
//
//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openapiDoc)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(openapiDoc)
	return err
}
