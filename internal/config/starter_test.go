package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"contextworker/registry"
)

func TestStarterLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Starter)
		want []string // "" for valid
	}{
		{"defaults", func(*Starter) {}, nil},
		{"no cap", func(s *Starter) { s.MaxRunning = 0 }, nil},
		{"negative cap", func(s *Starter) { s.MaxRunning = -1 }, []string{"starter.max_running: must be >= 0"}},
		{"negative cap of a type", func(s *Starter) { s.MaxRunningByType = map[string]int{"harvest": -2} }, []string{"starter.max_running_by_type.harvest: must be >= 0"}},
		{"no token lifetime", func(s *Starter) { s.JWT.MaxLifetime = 0 }, []string{"starter.jwt.max_lifetime: must be > 0"}},
		{"grpc front", func(s *Starter) { s.GRPCListen = "127.0.0.1:50051" }, nil},
		{"grpc front not host:port", func(s *Starter) { s.GRPCListen = "50051" }, []string{`starter.grpc_listen: "50051" is not host:port`}},
		{"grpc front on the http port", func(s *Starter) { s.GRPCListen = s.Listen }, []string{"starter.grpc_listen: \"127.0.0.1:8081\" is also starter.listen"}},
		{"every problem at once", func(s *Starter) { s.MaxRunning, s.JWT.MaxLifetime = -1, -time.Hour }, []string{"starter.max_running", "starter.jwt.max_lifetime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultStarter()
			tt.edit(&s)
			err := s.ValidateLimits("starter")
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestMaxRunningOf(t *testing.T) {
	t.Parallel()
	s := DefaultStarter()
	s.MaxRunning, s.MaxRunningByType = 10, map[string]int{"harvest": 2, "gardener": 0}
	for typ, want := range map[string]int{"harvest": 2, "gardener": 0, "ingest": 10} {
		if got := s.MaxRunningOf(typ); got != want {
			t.Errorf("MaxRunningOf(%s) = %d, want %d", typ, got, want)
		}
	}
}

func TestCommittedStarterSection(t *testing.T) {
	t.Parallel()
	cfg, err := Load(filepath.Join("..", "..", DefaultPath), false, registry.Default(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Starter.ValidateLimits("starter"); err != nil {
		t.Fatal(err)
	}
	if cfg.Starter.JWT.MaxLifetime != 24*time.Hour || cfg.Starter.MaxRunning != 100 {
		t.Errorf("committed starter limits %+v", cfg.Starter)
	}
}
