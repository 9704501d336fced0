// Package devstack is `make run`: it brings up a whole local platform on
// embedded defaults — the Temporal dev server, PostgreSQL (or $DATABASE_URL),
// migrations, a worker with every module, the starter — runs a demo of each
// module, prints where everything is, and on Ctrl-C stops what it started
// and only that. A demo that fails or takes long is reported and the stack
// stays up: the demos show the platform, they are not part of it. It is a
// developer tool; production runs the binaries.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/log"

	"contextworker/internal/dev/devserver"
	"contextworker/internal/dev/feedgen"
	"contextworker/internal/dev/localpg"
	"contextworker/internal/logging"
	"contextworker/internal/pg"
)

// Options are the fixed local ports and paths; see the Makefile.
type Options struct {
	Root         string // repository root
	TemporalPort int
	UIPort       int
	PGPort       int
	FeedAddr     string // where the demo feed is served (matches temporal.yaml)
	DemoProducts int
	// DemoTimeout bounds each demo's wait; a demo that takes longer keeps
	// running in the background and the stack stays up.
	DemoTimeout time.Duration
	// TemporalArgs are extra `temporal server start-dev` arguments.
	TemporalArgs []string
	// MetricsAddr is where the worker serves Prometheus /metrics.
	MetricsAddr string
	// GRPCListen is where the starter serves its gRPC WorkerService.
	GRPCListen string
	// StarterURL is the starter's HTTP API (starter.listen of temporal.yaml).
	StarterURL string
	Out        io.Writer
}

// Defaults returns the options `make run` uses.
func Defaults(root string) Options {
	return Options{Root: root, TemporalPort: 7233, UIPort: 8233, PGPort: 55432, FeedAddr: "127.0.0.1:8099", DemoProducts: 5000,
		DemoTimeout: 3 * time.Minute, MetricsAddr: "127.0.0.1:9464", GRPCListen: "127.0.0.1:50051", StarterURL: "http://127.0.0.1:8081",
		// The Web UI decodes payloads through the starter's codec server.
		TemporalArgs: []string{"--ui-codec-endpoint", "http://127.0.0.1:8081/codec/default"},
		Out:          os.Stdout}
}

// Stack is a running local platform.
type Stack struct {
	o       Options
	data    string
	logs    string
	procs   []*proc
	cluster *localpg.Cluster
	feedSrv *http.Server
	// temporal is the dev server make run started (nil when it reused one).
	temporal    *devserver.Server
	temporalLog *os.File
	env         []string
	dsn         string
	// deployedApp is the dir of the local deploy target whose supervised
	// release the deploy demo started; stop ends it.
	deployedApp string
	// harvestChanged says the demo harvest changed products (and so
	// chained a gardener run).
	harvestChanged bool
	// appURL is the deployed sample app's health URL.
	appURL string
	// encrypted says temporal.yaml turns payload encryption on.
	encrypted bool
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// Run starts everything, runs the demo and waits for ctx to end.
func Run(ctx context.Context, o Options) (err error) {
	s := &Stack{o: o, data: filepath.Join(o.Root, ".data"), logs: filepath.Join(o.Root, ".data", "logs")}
	defer func() {
		stopErr := s.stop()
		if err == nil {
			err = stopErr
		}
	}()
	if err := os.MkdirAll(s.logs, 0o755); err != nil {
		return err
	}
	if err := s.startTemporal(ctx); err != nil {
		return err
	}
	if err := s.startPostgres(ctx); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.serveDemoFeed(); err != nil {
		return err
	}
	if err := s.secrets(); err != nil {
		return err
	}
	if err := s.startBinary(ctx, "worker"); err != nil {
		return err
	}
	starter := filepath.Join(o.Root, "bin", "starter")
	if _, err := os.Stat(starter); err == nil {
		if err := s.startBinary(ctx, "starter"); err != nil {
			return err
		}
	}
	s.runDemos(ctx)
	s.printWhere()
	select {
	case <-ctx.Done():
	case p := <-s.exited():
		return fmt.Errorf("%s exited unexpectedly; see %s", p.name, filepath.Join(s.logs, p.name+".log"))
	}
	fmt.Fprintln(o.Out, "\nstopping what make run started…")
	return nil
}

func (s *Stack) say(format string, args ...any) { fmt.Fprintf(s.o.Out, "» "+format+"\n", args...) }

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *Stack) startTemporal(ctx context.Context) error {
	addr := fmt.Sprintf("127.0.0.1:%d", s.o.TemporalPort)
	if listening(addr) {
		s.say("Temporal: reusing the server already listening on %s (not started by make run)", addr)
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.logs, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.say("Temporal dev server starting on %s (state in .data/temporal.db)…", addr)
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	srv, err := devserver.Start(sctx, devserver.Options{
		Exe: filepath.Join(s.o.Root, "bin", "temporal"), HostPort: addr, UIPort: s.o.UIPort,
		DBFile: filepath.Join(s.data, "temporal.db"), Log: logf, ExtraArgs: s.o.TemporalArgs,
	})
	if err != nil {
		logf.Close()
		return fmt.Errorf("%w; see %s", err, filepath.Join(s.logs, "temporal.log"))
	}
	s.temporal, s.temporalLog = srv, logf
	return nil
}

func (s *Stack) startPostgres(ctx context.Context) error {
	if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
		s.dsn = dsn
		s.say("PostgreSQL: using $DATABASE_URL")
		return nil
	}
	c, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(s.data, "pg"), Port: s.o.PGPort,
		Logf: func(f string, a ...any) { s.say("PostgreSQL: "+f, a...) }})
	if err != nil {
		return err
	}
	s.cluster = c
	if err := c.CreateDatabase(ctx, "contextworker"); err != nil {
		return err
	}
	s.dsn = c.DSN("contextworker")
	s.say("PostgreSQL: private cluster in .data/pg on 127.0.0.1:%d", c.Port())
	return nil
}

func (s *Stack) migrate(ctx context.Context) error {
	db, err := pg.Connect(ctx, s.dsn, 2, 30*time.Second, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	done, err := pg.Migrate(ctx, db, nil)
	if err != nil {
		return err
	}
	s.say("migrations: %d applied", len(done))
	return nil
}

// serveDemoFeed writes the bundled demo feed (generated deterministically:
// a few thousand products, 2% bad on purpose) and serves it on loopback.
func (s *Stack) serveDemoFeed() error {
	dir := filepath.Join(s.data, "feeds")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "demo.csv")
	if _, err := os.Stat(path); err != nil {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		st, err := feedgen.Write(f, feedgen.Options{N: s.o.DemoProducts, Seed: 42, BadShare: 0.02, Format: "csv"})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		s.say("demo feed: %d products (%d bad on purpose) in %s", st.Records, st.Bad, path)
	}
	ln, err := net.Listen("tcp", s.o.FeedAddr)
	if err != nil {
		return fmt.Errorf("demo feed server on %s: %w (is another make run going?)", s.o.FeedAddr, err)
	}
	s.feedSrv = &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 5 * time.Second}
	go s.feedSrv.Serve(ln) //nolint:errcheck // ends with Shutdown
	s.say("demo feed served at http://%s/demo.csv", s.o.FeedAddr)
	return nil
}

// secrets creates the dev JWT secret (.data/jwt-secret, hex) and the
// payload encryption key (.data/payload-key, base64; temporal.yaml's
// temporal.encryption reads it from CW_PAYLOAD_KEY) once, mode 0600, and
// builds the environment the binaries run with.
func (s *Stack) secrets() error {
	jwt, err := devSecret(filepath.Join(s.data, "jwt-secret"), hex.EncodeToString)
	if err != nil {
		return err
	}
	key, err := devSecret(filepath.Join(s.data, "payload-key"), base64.StdEncoding.EncodeToString)
	if err != nil {
		return err
	}
	s.env = append(os.Environ(), "DATABASE_URL="+s.dsn, "CW_JWT_SECRET="+jwt, "CW_PAYLOAD_KEY="+key,
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", s.o.TemporalPort))
	return nil
}

// devSecret returns the secret in path, first writing 32 random bytes
// there in encoding when the file does not exist.
func devSecret(path string, encode func([]byte) string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		b := make([]byte, 32)
		rand.Read(b) //nolint:errcheck // never fails
		if err := os.WriteFile(path, []byte(encode(b)), 0o600); err != nil {
			return "", fmt.Errorf("dev secret: %w", err)
		}
	}
	v, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("dev secret: %w", err)
	}
	return strings.TrimSpace(string(v)), nil
}

// lookup reads the binaries' environment (for the demos' own client).
func (s *Stack) lookup(name string) (string, bool) {
	for i := len(s.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(s.env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func (s *Stack) startBinary(ctx context.Context, name string) error {
	bin := filepath.Join(s.o.Root, "bin", name)
	args := []string{"--config", filepath.Join(s.o.Root, "temporal.yaml")}
	switch name {
	case "worker":
		args = append(args, "--metrics-addr", s.o.MetricsAddr)
	case "starter":
		args = append(args, "--grpc-listen", s.o.GRPCListen)
	}
	if err := s.spawn(ctx, name, bin, args, s.env); err != nil {
		return err
	}
	s.say("%s started (log: .data/logs/%s.log)", name, name)
	return nil
}

func (s *Stack) spawn(_ context.Context, name, bin string, args, env []string) error {
	logf, err := os.OpenFile(filepath.Join(s.logs, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env, cmd.Dir = logf, logf, env, s.o.Root
	// Own process group: Ctrl-C in the terminal reaches make run, which
	// then stops each child in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }() //nolint:errcheck // exit is reported via done
	s.procs = append(s.procs, p)
	return nil
}

func (s *Stack) exited() <-chan *proc {
	ch := make(chan *proc, len(s.procs))
	for _, p := range s.procs {
		go func() { <-p.done; ch <- p }()
	}
	return ch
}

func (s *Stack) waitFor(ctx context.Context, what string, ok func() bool) error {
	deadline := time.Now().Add(90 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not come up within 90s; see %s", what, filepath.Join(s.logs, what+".log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

func (s *Stack) devToken() string {
	bin := filepath.Join(s.o.Root, "bin", "starter")
	if _, err := os.Stat(bin); err != nil {
		return ""
	}
	cmd := exec.Command(bin, "--config", filepath.Join(s.o.Root, "temporal.yaml"), "token", "--tenant", "acme", "--roles", "operator", "--ttl", "1h")
	cmd.Env, cmd.Dir = s.env, s.o.Root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// stop ends what Run started, newest first: SIGTERM, then SIGKILL after a
// grace period.
func (s *Stack) stop() error {
	var errs []error
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		select {
		case <-p.done:
			continue
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // may have exited
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			p.cmd.Process.Kill() //nolint:errcheck
			<-p.done
		}
		fmt.Fprintf(s.o.Out, "  stopped %s\n", p.name)
	}
	if s.feedSrv != nil {
		s.feedSrv.Close()
	}
	if s.deployedApp != "" && stopSupervised(s.deployedApp) {
		fmt.Fprintln(s.o.Out, "  stopped the sample app the deploy demo started")
	}
	if s.temporal != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.temporal.Stop(ctx); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintln(s.o.Out, "  stopped the Temporal dev server")
		}
		s.temporalLog.Close()
	}
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.cluster.Stop(ctx); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintln(s.o.Out, "  stopped PostgreSQL")
		}
	}
	return errors.Join(errs...)
}

func quietLogger() log.Logger {
	l, _ := logging.New(io.Discard, "text", "error")
	return logging.Temporal(l)
}
