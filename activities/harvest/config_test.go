package harvest

import (
	"strings"
	"testing"

	"contextworker/internal/secret"
	wf "contextworker/workflows/harvest"
)

// TestResolveRefuses: inputs that can only fail, or that would put a
// secret into history, are refused by Resolve (so by Begin and the
// starter's Check alike), with a message naming the field.
func TestResolveRefuses(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"credentials in the url", "https://user:s3cret@feeds.example/f.csv", "feed_url: carries credentials"},
		{"a user alone in the url", "https://user@feeds.example/f.csv", "feed_url: carries credentials"},
		{"decimal ip", "http://2130706433/f.csv", `host "2130706433" is an IPv4 address written as a number`},
		{"hex ip", "http://0x7f000001/f.csv", "written as a number"},
		{"short dotted ip", "http://127.1/f.csv", "written as a number"},
		{"ftp", "ftp://feeds.example/f.csv", `feed_url: "ftp://feeds.example/f.csv" must be http(s):// or file:// (feed of supplier acme/s1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cfg.Resolve(wf.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: tc.url, Format: "csv"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resolve(%s) = %v, want an error containing %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error repeats the secret: %v", err)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8080/f.csv", "https://feeds.example/f.csv", "http://[::1]/f.csv", "http://123.example/f.csv"} {
		if _, err := cfg.Resolve(wf.Input{TenantID: "acme", SupplierCode: "s1", FeedURL: ok, Format: "csv"}); err != nil {
			t.Errorf("Resolve(%s): %v", ok, err)
		}
	}
}

// TestValidateCredentials: feed credentials must be secret references.
func TestValidateCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		feed Feed
		want string // "" = valid
	}{
		{"plain authorization header", Feed{Headers: map[string]HeaderValue{"Authorization": {Value: "Bearer abc"}}}, "must be a secret reference"},
		{"plain api key header", Feed{Headers: map[string]HeaderValue{"X-Api-Key": {Value: "abc"}}}, "must be a secret reference"},
		{"plain harmless header", Feed{Headers: map[string]HeaderValue{"Accept": {Value: "text/csv"}}}, ""},
		{"basic auth without password", Feed{BasicAuth: &BasicAuth{Username: "u"}}, "needs username and password"},
		{"basic auth and bearer", Feed{BasicAuth: &BasicAuth{Username: "u", Password: secret.Env("P")}, BearerToken: secret.Env("T")}, "choose one"},
		{"bearer from env", Feed{BearerToken: secret.Env("T")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.feed.URL, tc.feed.Format = "https://feeds.example/f.csv", "csv"
			cfg.Suppliers = []Supplier{{Code: "s1", Tenant: "acme", Feed: tc.feed}}
			err := cfg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestValidateKeyBuildWorkers: key_build_workers takes 0 (the session
// alone) up to 64, and names itself when out of range.
func TestValidateKeyBuildWorkers(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "", 64: "", -1: "key_build_workers: must be 0..64, got -1", 65: "key_build_workers: must be 0..64, got 65"} {
		cfg := DefaultConfig()
		cfg.KeyBuildWorkers = n
		err := cfg.Validate()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("key_build_workers %d: Validate() = %v, want %q", n, err, want)
		}
	}
}

// TestUILinkEscapesTheWorkflowID: the report's ui_url opens the run, not
// the UI's 404 page (a workflow id holds slashes).
func TestUILinkEscapesTheWorkflowID(t *testing.T) {
	got := uiLink("http://localhost:8233/", "default", wf.WorkflowID("acme", "s1"), "0193-run")
	want := "http://localhost:8233/namespaces/default/workflows/harvest%2Facme%2Fs1/0193-run/history"
	if got != want {
		t.Fatalf("uiLink = %s, want %s", got, want)
	}
}
