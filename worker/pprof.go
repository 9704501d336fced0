package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// PprofEnv names the environment variable that, when set to an address
// (127.0.0.1:6060), makes the worker serve Go's profiler there: CPU and heap
// profiles of a live harvest, `go tool pprof http://ADDR/debug/pprof/profile`.
const PprofEnv = "CW_PPROF_ADDR"

// servePprof serves the profiler on addr until ctx is done.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		logger.Info("profiler listening", "addr", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("profiler stopped", "addr", addr, "error", err)
		}
	}()
}
