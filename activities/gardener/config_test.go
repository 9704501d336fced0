package gardener

import (
	"strings"
	"testing"
	"time"
)

func TestValidateChangeLogRetention(t *testing.T) {
	cases := []struct {
		name      string
		retention time.Duration
		wantErr   string
	}{
		{"default", DefaultConfig().ChangeLogRetention, ""},
		{"kept until every scope ran", 0, ""},
		{"negative", -time.Hour, `change_log_retention: must be >= 0, got -1h0m0s`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ChangeLogRetention = c.retention
			err := cfg.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Validate: %v, want %q", err, c.wantErr)
			}
		})
	}
}
