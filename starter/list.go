package starter

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"contextworker/internal/searchattr"
)

// Page sizes of the list route.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// listResponse is the answer of GET /v1/workflows.
type listResponse struct {
	Workflows     []workflowSummary `json:"workflows"`
	NextPageToken string            `json:"next_page_token,omitempty"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "type", "status", "page_size", "page_token":
		default:
			return invalidInput(fieldProblem{Field: name, Problem: "unknown query parameter (known: type, status, page_size, page_token)"})
		}
	}
	// The tenant is ident.Valid, and type and status are checked
	// against fixed sets, so nothing here can leave its string literal.
	query := fmt.Sprintf("%s = '%s'", searchattr.Tenant.GetName(), c.Tenant)
	if t := q.Get("type"); t != "" {
		if _, ok := s.types[t]; !ok {
			return invalidInput(fieldProblem{Field: "type", Problem: fmt.Sprintf("unknown workflow type %q (known: %s)", clip(t), strings.Join(s.typeNames, ", "))})
		}
		query += fmt.Sprintf(" AND WorkflowType = '%s'", t)
	}
	if st := q.Get("status"); st != "" {
		v, ok := statuses[st]
		if !ok {
			return invalidInput(fieldProblem{Field: "status", Problem: "want one of running, completed, failed, canceled, terminated, timed_out, continued_as_new"})
		}
		query += fmt.Sprintf(" AND ExecutionStatus = '%s'", v)
	}
	size := defaultPageSize
	if ps := q.Get("page_size"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > maxPageSize {
			return invalidInput(fieldProblem{Field: "page_size", Problem: fmt.Sprintf("want an integer from 1 to %d", maxPageSize)})
		}
		size = n
	}
	var token []byte
	if pt := q.Get("page_token"); pt != "" {
		var ok bool
		if token, ok = s.pages.open(query, pt); !ok {
			return invalidInput(fieldProblem{Field: "page_token", Problem: "not a token from next_page_token of this query"})
		}
	}

	ctx, cancel := s.temporalContext(r)
	defer cancel()
	resp, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace:     s.namespace,
		PageSize:      int32(size),
		NextPageToken: token,
		Query:         query,
	})
	if err != nil {
		var invalid *serviceerror.InvalidArgument
		if token != nil && errors.As(err, &invalid) {
			return invalidInput(fieldProblem{Field: "page_token", Problem: "not a token from next_page_token"}).because(err)
		}
		return err
	}
	out := listResponse{Workflows: []workflowSummary{}}
	for _, info := range resp.GetExecutions() {
		// Visibility already filtered on TenantId; a workflow GET would
		// answer 404 for (an unregistered type, an id that is not the
		// tenant's) is not listed either.
		if !s.visibleTo(info, c) {
			continue
		}
		out.Workflows = append(out.Workflows, s.summarize(info))
	}
	if len(resp.GetNextPageToken()) > 0 {
		out.NextPageToken = s.pages.seal(query, resp.GetNextPageToken())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
