// Package logging builds the process logger (log/slog) and bridges the
// Temporal SDK's logger to it, so SDK, workflow and activity lines share one
// format and carry workflow id, run id and module.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/log"
)

// New returns a logger writing format ("json" or "text") at level to w.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("logging: level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("logging: format %q: want json or text", format)
}

// Temporal adapts l for the Temporal SDK (client.Options.Logger). The SDK adds
// WorkflowID, RunID, ActivityType and friends to workflow and activity
// loggers itself.
func Temporal(l *slog.Logger) log.Logger {
	return log.NewStructuredLogger(l)
}
