package harvest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	wf "contextworker/workflows/harvest"
)

// historyText returns a run's whole history as text, with every base64
// value (payloads: inputs, results, summaries) decoded next to it, so a
// secret is found however it was encoded.
func (s *stack) historyText(workflowID, runID string) string {
	s.t.Helper()
	it := s.tc.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	raw, err := protojson.Marshal(&h)
	if err != nil {
		s.t.Fatal(err)
	}
	var b strings.Builder
	b.Write(raw)
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			if dec, err := base64.StdEncoding.DecodeString(v); err == nil {
				b.WriteString("\n")
				b.Write(dec)
			}
		}
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		s.t.Fatal(err)
	}
	walk(tree)
	return b.String()
}

// TestFeedCredentialsStayOutOfHistory: a feed behind basic auth is read
// with the password from a secret reference, and neither the password nor
// the Authorization value appears anywhere in the run's history (input,
// plan, activity summaries, workflow summary, results). An input URL with
// credentials is refused, saying why.
func TestFeedCredentialsStayOutOfHistory(t *testing.T) {
	const user, password, token = "feeds", "pw-7c1e-do-not-log", "tok-93ab-do-not-log"
	t.Setenv("CW_TEST_FEED_PASSWORD", password)
	t.Setenv("CW_TEST_FEED_TOKEN", token)
	body := feedOf(seq(1, 3)...)
	srv := faultyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		basic := ok && u == user && p == password && r.URL.Path == "/basic.csv"
		bearer := r.Header.Get("Authorization") == "Bearer "+token && r.URL.Path == "/bearer.csv"
		if !basic && !bearer {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		w.Write([]byte(body))
	}))
	s := newStack(t, fmt.Sprintf(`chain_gardener: false
suppliers:
  - {code: basic, tenant: acme, feed: {url: %q, format: csv, basic_auth: {username: %s, password: {env: CW_TEST_FEED_PASSWORD}}}}
  - {code: bearer, tenant: acme, feed: {url: %q, format: csv, bearer_token: "env:CW_TEST_FEED_TOKEN"}}
`, srv.URL+"/basic.csv", user, srv.URL+"/bearer.csv"))

	for _, supplier := range []string{"basic", "bearer"} {
		t.Run(supplier, func(t *testing.T) {
			rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: supplier})
			if err != nil || rep.Inserted != 3 {
				t.Fatalf("harvest = %+v, %v; want 3 inserted", rep, err)
			}
			hist := s.historyText(rep.WorkflowID, rep.RunID)
			if !strings.Contains(hist, "fetch, parse and stage") {
				t.Fatal("the history text holds no activity summary: the check below would prove nothing")
			}
			for _, secret := range []string{password, token, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))} {
				if strings.Contains(hist, secret) {
					t.Fatalf("the history holds the credential %q", secret)
				}
			}
		})
	}

	t.Run("an input url with credentials is refused", func(t *testing.T) {
		_, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "adhoc", Format: "csv",
			FeedURL: strings.Replace(srv.URL, "http://", "http://"+user+":"+password+"@", 1) + "/basic.csv"})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !strings.Contains(appErr.Error(), "feed_url: carries credentials") {
			t.Fatalf("harvest error = %v, want a refusal naming feed_url's credentials", err)
		}
		if strings.Contains(appErr.Error(), password) {
			t.Fatalf("the refusal repeats the password: %v", appErr)
		}
	})
}
