// Package devserver starts and stops the Temporal dev server (the pinned
// temporal CLI's `server start-dev`) the one way every development tool
// does: the test harness (internal/dev/testenv), `make run`
// (internal/dev/devstack) and `make bench` (internal/dev/bench). It wraps
// the SDK's testsuite.StartDevServer with an existing binary, registers the
// platform's search attributes, and knows the server's pid, so that a
// server that ignores SIGINT is killed rather than leaked.
//
// Development tooling only: production never starts a dev server.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"contextworker/internal/searchattr"
)

// DefaultNamespace is the namespace the dev server registers when Options
// names none.
const DefaultNamespace = "default"

// Options configures Start.
type Options struct {
	// Exe is the temporal CLI, normally <repo>/bin/temporal; required.
	Exe string
	// HostPort is the frontend address; "" picks a free loopback port.
	HostPort string
	// Namespace is registered at start; "" means DefaultNamespace.
	Namespace string
	// UIPort serves the Web UI; 0 runs headless.
	UIPort int
	// DBFile keeps the server's state in this SQLite file across restarts;
	// "" keeps it in memory.
	DBFile string
	// LogLevel is the server's log level; "" means "warn".
	LogLevel string
	// ExtraArgs are passed to `server start-dev` as they are (for example
	// --ui-codec-endpoint or TLS flags).
	ExtraArgs []string
	// Log receives the server's stdout and stderr; nil discards them.
	Log io.Writer
	// Logger is the SDK client's logger; nil logs warnings and errors only.
	Logger sdklog.Logger
}

// Server is a running dev server.
type Server struct {
	dev *testsuite.DevServer
	// HostPort is the frontend address, Namespace the registered namespace.
	HostPort, Namespace string
	// PID is the server's process id, or 0 when it could not be found.
	PID int
}

// Start starts a dev server and returns once its frontend answers, or
// fails, having killed what it started, when ctx ends first.
func Start(ctx context.Context, o Options) (*Server, error) {
	if _, err := os.Stat(o.Exe); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("devserver: temporal CLI %s is missing: run `make tools` first", o.Exe)
	} else if err != nil {
		return nil, fmt.Errorf("devserver: temporal CLI: %w", err)
	}
	if o.HostPort == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		o.HostPort = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Logger == nil {
		o.Logger = QuietLogger()
	}
	var args []string
	for _, sa := range searchattr.Names {
		args = append(args, "--search-attribute", sa)
	}
	opts := testsuite.DevServerOptions{
		ExistingPath:  o.Exe,
		ClientOptions: &client.Options{HostPort: o.HostPort, Namespace: o.Namespace, Logger: o.Logger},
		LogLevel:      o.LogLevel,
		DBFilename:    o.DBFile,
		ExtraArgs:     append(args, o.ExtraArgs...),
		Stdout:        o.Log,
		Stderr:        o.Log,
	}
	if o.UIPort != 0 {
		opts.EnableUI, opts.UIPort = true, strconv.Itoa(o.UIPort)
	}
	_, port, _ := net.SplitHostPort(o.HostPort)
	dev, err := testsuite.StartDevServer(ctx, opts)
	if err != nil {
		// The SDK gives up waiting but leaves a started process running.
		if pid := FindChild("start-dev", port); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		return nil, fmt.Errorf("devserver: start %s on %s: %w", o.Exe, o.HostPort, err)
	}
	srv := &Server{dev: dev, HostPort: o.HostPort, Namespace: o.Namespace, PID: FindChild("start-dev", port)}
	if err := srv.ensureSearchAttributes(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
		return nil, err
	}
	return srv, nil
}

// ensureSearchAttributes adds the platform's search attributes that the
// namespace lacks. --search-attribute registers them on a new database
// only: a server reusing its state file (make run's .data/temporal.db)
// from before a module added one would refuse every workflow that sets it.
func (s *Server) ensureSearchAttributes(ctx context.Context) error {
	have, err := s.Client().OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace})
	if err != nil {
		return fmt.Errorf("devserver: list search attributes: %w", err)
	}
	missing := make(map[string]enumspb.IndexedValueType)
	for _, sa := range searchattr.Names {
		name, typ, _ := strings.Cut(sa, "=")
		if _, ok := have.GetCustomAttributes()[name]; ok {
			continue
		}
		v, err := enumspb.IndexedValueTypeFromString(typ)
		if err != nil {
			return fmt.Errorf("devserver: search attribute %s: %w", name, err)
		}
		missing[name] = v
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = s.Client().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: s.Namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("devserver: add search attributes: %w", err)
	}
	return nil
}

// Client is the client Start connected; Stop closes it.
func (s *Server) Client() client.Client { return s.dev.Client() }

// Stop closes the client, sends the server SIGINT and waits for it to exit;
// when ctx ends first it kills the server and says so.
func (s *Server) Stop(ctx context.Context) error {
	s.dev.Client().Close()
	done := make(chan error, 1)
	go func() { done <- s.dev.Stop() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
			return nil // the CLI may die of the SIGINT it was sent
		}
		return err
	case <-ctx.Done():
		if s.PID != 0 {
			_ = syscall.Kill(s.PID, syscall.SIGKILL)
		}
		return fmt.Errorf("devserver: no exit after SIGINT (killed pid %d): %w", s.PID, ctx.Err())
	}
}

// QuietLogger keeps the SDK's informational chatter out of tool output.
func QuietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devserver: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FindChild returns the pid of this process's child whose command line
// includes all of args, or 0. It reads /proc, so finds nothing off Linux.
func FindChild(args ...string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || parent(pid) != os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		have := strings.Split(string(cmdline), "\x00")
		all := true
		for _, a := range args {
			all = all && contains(have, a)
		}
		if all {
			return pid
		}
	}
	return 0
}

// parent returns pid's parent pid, or 0.
func parent(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parens.
	s := string(stat)
	i := strings.LastIndex(s, ") ")
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+2:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
