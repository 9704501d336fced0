package gardener

import "testing"

func TestUIURLEscapesTheWorkflowID(t *testing.T) {
	cases := []struct {
		name, base, ns, id, want string
	}{
		{"no UI configured", "", "default", "gardener/acme", ""},
		{"slash in the id", "http://localhost:8233", "default", "gardener/acme", "http://localhost:8233/namespaces/default/workflows/gardener%2Facme"},
		{"trailing slash on the base", "http://ui.example/", "prod ns", "gardener/a?b", "http://ui.example/namespaces/prod%20ns/workflows/gardener%2Fa%3Fb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := uiURL(c.base, c.ns, c.id); got != c.want {
				t.Fatalf("uiURL(%q, %q, %q) = %q, want %q", c.base, c.ns, c.id, got, c.want)
			}
		})
	}
}
