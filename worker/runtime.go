package worker

import (
	"log/slog"
	"runtime/debug"

	"contextworker/internal/config"
)

// tuneRuntime applies the worker's memory limit and GC target, unless
// $GOMEMLIMIT or $GOGC set them for the process already.
func tuneRuntime(w config.Worker, getenv func(string) string, logger *slog.Logger) {
	if w.MemoryLimitMiB > 0 && getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(w.MemoryLimitMiB) << 20)
	}
	if w.GCPercent > 0 && getenv("GOGC") == "" {
		debug.SetGCPercent(w.GCPercent)
	}
	logger.Debug("go runtime", "memory_limit_bytes", debug.SetMemoryLimit(-1), "gc_percent", currentGCPercent())
}

// currentGCPercent reads the GC target (SetGCPercent returns the old one).
func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}
