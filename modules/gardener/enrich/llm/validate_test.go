package llm

import (
	"strings"
	"testing"
)

func TestValidateReportsEachTransportProblem(t *testing.T) {
	c := DefaultConfig()
	c.URL, c.Model, c.Timeout, c.Burst = "ftp://x", "", 0, 0
	err := c.Validate()
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate = %v, want a joined list", err)
	}
	var got []string
	for _, e := range j.Unwrap() {
		got = append(got, strings.SplitN(e.Error(), ":", 2)[0])
	}
	for _, want := range []string{"url", "model", "timeout", "burst"} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("problems %v lack %s, each as its own entry", got, want)
		}
	}
}
