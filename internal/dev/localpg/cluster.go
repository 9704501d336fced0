// Package localpg runs a private PostgreSQL server from a data directory we
// own, for `make run` and for integration tests.
//
// It drives the stock server binaries (initdb, pg_ctl) and must never touch a
// cluster it did not start: a server found already running on the data
// directory is reused but never stopped, and a directory that is not a
// PostgreSQL data directory is never initialised over. It is a development
// tool, never a way to run production databases.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the role initdb creates; DSN connects as it without a password
// because the cluster trusts every local connection.
const Superuser = "postgres"

// logName is the server log file inside the data directory.
const logName = "postgres.log"

// startAttempts bounds the retries when a port picked by FreePort is taken
// by someone else before the server binds it.
const startAttempts = 3

// Options configures Start.
type Options struct {
	// Dir is the data directory (PGDATA), e.g. ".data/pg". The server log
	// (postgres.log) and the Unix socket live inside it too. It is created
	// if missing and initialised if empty.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one. A server that
	// is already running keeps the port it has.
	Port int
	// BinDir holds initdb and pg_ctl. Empty means discover: $PG_BIN_DIR,
	// then `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin,
	// then $PATH.
	BinDir string
	// Fast trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off). Use it for throw-away test clusters only: a
	// crash can corrupt a Fast cluster.
	Fast bool
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
}

// Cluster is a private PostgreSQL server running from a data directory of
// ours. Its methods are safe for concurrent use.
type Cluster struct {
	dir    string
	port   int
	binDir string
	runAs  *osUser // nil: run the server binaries as ourselves
	logf   func(format string, args ...any)

	mu    sync.Mutex
	owned bool // we started it, so Stop stops it
}

// Start initialises the cluster in opts.Dir if the directory is empty,
// starts the server and waits until it accepts connections. If a server is
// already running on the directory, Start reuses it and the returned
// Cluster's Stop leaves it running.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("localpg: start: Options.Dir is empty (hint: e.g. \".data/pg\")")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("localpg: start: resolve data dir %q: %w", opts.Dir, err)
	}
	c := &Cluster{dir: dir, logf: opts.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}

	if pid, port, ok := runningServer(dir); ok {
		c.port = port
		c.logf("localpg: reusing PostgreSQL already running from %s (pid %d, port %d)", dir, pid, port)
		if opts.Port != 0 && opts.Port != port {
			c.logf("localpg: asked for port %d but the running server listens on %d", opts.Port, port)
		}
		if err := c.waitReady(ctx); err != nil {
			return nil, err
		}
		return c, nil
	}

	if c.binDir, err = findBinDir(opts.BinDir); err != nil {
		return nil, err
	}
	if c.runAs, err = serverUser(); err != nil {
		return nil, err
	}
	fresh, err := c.prepareDir()
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}

	port := opts.Port
	for attempt := 1; ; attempt++ {
		if opts.Port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		err = c.start(ctx, port, opts.Fast)
		if err == nil {
			break
		}
		// Another process may have started the same data directory
		// between our check and pg_ctl: use its server.
		if pid, p, ok := runningServer(dir); ok {
			c.logf("localpg: another process started %s meanwhile (pid %d, port %d); reusing it", dir, pid, p)
			c.port = p
			if err := c.waitReady(ctx); err != nil {
				return nil, err
			}
			return c, nil
		}
		if opts.Port != 0 || attempt == startAttempts || !errors.Is(err, errPortInUse) {
			return nil, err
		}
		c.logf("localpg: port %d was taken before the server bound it; retrying with another", port)
	}
	c.port = port
	c.owned = true
	if err := c.waitReady(ctx); err != nil {
		return nil, errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
	}
	return c, nil
}

// Dir returns the absolute data directory.
func (c *Cluster) Dir() string { return c.dir }

// Port returns the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Owned reports whether Start started the server (Stop stops it), rather
// than finding it running.
func (c *Cluster) Owned() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owned
}

// DSN returns a connection URL for database as the superuser over TCP.
func (c *Cluster) DSN(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     "127.0.0.1:" + strconv.Itoa(c.port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down with pg_ctl's fast mode (open sessions are
// disconnected). It does nothing if Start reused a server it did not start,
// and nothing on a second call.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.owned {
		return nil
	}
	out, err := c.command(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(c.dir, "postmaster.pid")); errors.Is(statErr, os.ErrNotExist) {
			c.owned = false // already gone, e.g. stopped by hand
			return nil
		}
		return fmt.Errorf("localpg: stop server in %s: %w: %s (hint: see %s)",
			c.dir, err, strings.TrimSpace(string(out)), filepath.Join(c.dir, logName))
	}
	c.owned = false
	c.logf("localpg: stopped PostgreSQL in %s", c.dir)
	return nil
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port already in use")

// start runs pg_ctl start and waits (-w) until the server reports ready.
func (c *Cluster) start(ctx context.Context, port int, fast bool) error {
	logPath := filepath.Join(c.dir, logName)
	var logOffset int64
	if fi, err := os.Stat(logPath); err == nil {
		logOffset = fi.Size()
	}

	// pg_ctl hands -o to /bin/sh, so quote what we put there.
	socketDir := c.dir
	if len(socketDir)+len("/.s.PGSQL.65535.lock") >= maxSocketPath {
		c.logf("localpg: %s is too long for a Unix socket path; listening on TCP only", socketDir)
		socketDir = ""
	}
	serverOpts := []string{
		"-p", strconv.Itoa(port),
		"-k", shellQuote(socketDir),
		"-c", "listen_addresses=127.0.0.1",
	}
	if fast {
		serverOpts = append(serverOpts, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}

	began := time.Now()
	out, err := c.command(ctx, "pg_ctl", "start", "-D", c.dir, "-l", logPath, "-w", "-t", "60",
		"-o", strings.Join(serverOpts, " ")).CombinedOutput()
	if err != nil {
		tail := logTail(logPath, logOffset)
		if strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return fmt.Errorf("localpg: start server in %s on port %d: %w\npg_ctl: %s\n%s tail:\n%s",
			c.dir, port, err, strings.TrimSpace(string(out)), logPath, tail)
	}
	c.logf("localpg: started PostgreSQL in %s on port %d in %s", c.dir, port, time.Since(began).Round(time.Millisecond))
	return nil
}

// initdb creates a new cluster in the (empty) data directory.
func (c *Cluster) initdb(ctx context.Context) error {
	began := time.Now()
	// trust: only local TCP/socket clients reach it, and tests and `make run`
	// must not need a password. C locale: deterministic sort order on every
	// machine and no dependency on installed locales. --no-sync: a cluster
	// lost to a power cut during initdb is simply recreated.
	out, err := c.command(ctx, "initdb", "-D", c.dir, "-A", "trust", "-U", Superuser,
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("localpg: initdb %s: %w\n%s", c.dir, err, lastLines(string(out), 20))
	}
	c.logf("localpg: initialised PostgreSQL cluster in %s in %s", c.dir, time.Since(began).Round(time.Millisecond))
	return nil
}

// command prepares a server binary, run as the server's OS user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	// The server user may not be able to read our working directory, and
	// pg_ctl and initdb complain when they cannot.
	cmd.Dir = c.dir
	if c.runAs != nil {
		cmd.SysProcAttr = c.runAs.sysProcAttr()
	}
	return cmd
}

// waitReady polls until the server accepts a TCP connection.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localpg: server in %s does not accept connections on 127.0.0.1:%d: %w (hint: see %s)",
				c.dir, c.port, err, filepath.Join(c.dir, logName))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
