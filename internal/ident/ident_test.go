package ident

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"acme", true}, {"s1.eu-west_2", true}, {"A", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"-acme", false}, {"ac me", false},
		{"a/b", false}, {"a'b", false}, {"ä", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.in); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if err := Check("tenant_id", "a/b"); err == nil || !strings.HasPrefix(err.Error(), `tenant_id: "a/b"`) {
		t.Fatalf("Check: %v", err)
	}
}
