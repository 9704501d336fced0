package worker

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"contextworker/internal/config"
)

func TestTuneRuntime(t *testing.T) {
	oldLimit, oldGC := debug.SetMemoryLimit(-1), currentGCPercent()
	defer func() { debug.SetMemoryLimit(oldLimit); debug.SetGCPercent(oldGC) }()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	noEnv := func(string) string { return "" }

	tuneRuntime(config.Worker{MemoryLimitMiB: 176, GCPercent: 250}, noEnv, quiet)
	if got := debug.SetMemoryLimit(-1); got != 176<<20 {
		t.Errorf("memory limit %d, want %d", got, 176<<20)
	}
	if got := currentGCPercent(); got != 250 {
		t.Errorf("gc percent %d, want 250", got)
	}

	// The environment wins: nothing changes.
	tuneRuntime(config.Worker{MemoryLimitMiB: 64, GCPercent: 50}, func(k string) string { return "set" }, quiet)
	if got := debug.SetMemoryLimit(-1); got != 176<<20 {
		t.Errorf("memory limit %d after $GOMEMLIMIT, want unchanged", got)
	}
	if got := currentGCPercent(); got != 250 {
		t.Errorf("gc percent %d after $GOGC, want unchanged", got)
	}
}
