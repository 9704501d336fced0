package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig says how to reach an SSH target.
type SSHConfig struct {
	// Addr is host:port.
	Addr string
	User string
	// KnownHosts is the known_hosts file the host key must be in. An
	// unknown or changed key fails the connection; there is no way to skip
	// the check.
	KnownHosts string
	// PrivateKey is the client key (PEM, OpenSSH or PKCS#8), resolved from
	// a secret ref by the caller and never stored.
	PrivateKey []byte
	// DialTimeout bounds connecting and the handshake.
	DialTimeout time.Duration
}

// SSH runs commands on one SSH target over a single connection, opened on
// first use and reopened after it breaks; concurrent commands share it
// (one session each).
type SSH struct {
	cfg    SSHConfig
	signer ssh.Signer

	mu     sync.Mutex
	client *ssh.Client
}

var _ Runner = (*SSH)(nil)

// NewSSH checks cfg and parses the key; it does not connect.
func NewSSH(cfg SSHConfig) (*SSH, error) {
	if cfg.Addr == "" || cfg.User == "" || cfg.KnownHosts == "" {
		return nil, errors.New("ssh: addr, user and known_hosts are required")
	}
	signer, err := ssh.ParsePrivateKey(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("ssh: private key: %w", err)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	return &SSH{cfg: cfg, signer: signer}, nil
}

// hostKeyCallback verifies against known_hosts and explains failures.
func hostKeyCallback(file string) (ssh.HostKeyCallback, func(string) []string, error) {
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh: known_hosts: %w", err)
	}
	verify := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return fmt.Errorf("%w: %s offers %s key %s, which %s does not list (check the fingerprint out of band, then add it)",
					ErrHostKey, host, key.Type(), ssh.FingerprintSHA256(key), file)
			}
			return fmt.Errorf("%w: the %s key of %s CHANGED (now %s; %s:%d lists another): possible man-in-the-middle, refusing",
				ErrHostKey, key.Type(), host, ssh.FingerprintSHA256(key), ke.Want[0].Filename, ke.Want[0].Line)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrHostKey, err)
		}
		return nil
	}
	// algos lists the key types known_hosts holds for a host, so the
	// handshake asks for one we can verify rather than failing on another.
	algos := func(addr string) []string {
		err := cb(addr, &net.TCPAddr{}, probeKey{})
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return nil
		}
		var out []string
		for _, k := range ke.Want {
			switch t := k.Key.Type(); t {
			case ssh.KeyAlgoRSA:
				out = append(out, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, t)
			default:
				out = append(out, t)
			}
		}
		return out
	}
	return verify, algos, nil
}

// probeKey is a key no host has, used to list the keys known_hosts holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "cw-probe" }
func (probeKey) Marshal() []byte                     { return []byte("cw-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

func (s *SSH) connect(ctx context.Context) (*ssh.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	verify, algos, err := hostKeyCallback(s.cfg.KnownHosts)
	if err != nil {
		return nil, err
	}
	conf := &ssh.ClientConfig{
		User:              s.cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(s.signer)},
		HostKeyCallback:   verify,
		HostKeyAlgorithms: algos(knownhosts.Normalize(s.cfg.Addr)),
		Timeout:           s.cfg.DialTimeout,
	}
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", s.cfg.Addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(s.cfg.DialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, s.cfg.Addr, conf)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s: %w", s.cfg.Addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	s.client = ssh.NewClient(c, chans, reqs)
	return s.client, nil
}

// drop forgets a broken connection so the next command reconnects.
func (s *SSH) drop(c *ssh.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == c {
		s.client.Close()
		s.client = nil
	}
}

// Close implements Runner.
func (s *SSH) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil
	}
	err := s.client.Close()
	s.client = nil
	return err
}

// Quote quotes s for a POSIX shell: the remote sshd runs our command line
// through the user's shell, which must see every argument as one literal
// word.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandLine is what the remote shell runs: print its pid (the process
// group sshd made for the session, which the program inherits, so a
// cancel can kill the whole group), cd into Dir, then exec the program
// with exactly Env (env -i), every word quoted.
func commandLine(c Command) string {
	var b strings.Builder
	b.WriteString("echo $$ && ")
	if c.Dir != "" {
		b.WriteString("cd " + Quote(c.Dir) + " && ")
	}
	b.WriteString("exec env -i --")
	for _, e := range c.Env {
		b.WriteString(" " + Quote(e))
	}
	for _, a := range c.Argv {
		b.WriteString(" " + Quote(a))
	}
	return b.String()
}

// Run implements Runner. The connection is reused; a broken one is
// reopened once.
func (s *SSH) Run(ctx context.Context, c Command) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{ExitCode: -1}, errors.New("run: empty argv")
	}
	if strings.ContainsRune(strings.Join(append(append([]string{}, c.Argv...), c.Env...), ""), 0) {
		return Result{ExitCode: -1}, errors.New("run: NUL byte in command")
	}
	// env(1) would take a program name holding '=' for a variable.
	if strings.Contains(c.Argv[0], "=") {
		return Result{ExitCode: -1}, fmt.Errorf("run: program name %q holds '='", c.Argv[0])
	}
	for _, e := range c.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return Result{ExitCode: -1}, fmt.Errorf("run: environment entry %q is not KEY=value", e)
		}
	}
	var sess *ssh.Session
	var client *ssh.Client
	for attempt := 0; ; attempt++ {
		cl, err := s.connect(ctx)
		if err != nil {
			return Result{ExitCode: -1}, err
		}
		sess, err = cl.NewSession()
		if err == nil {
			client = cl
			break
		}
		s.drop(cl)
		if attempt == 1 {
			return Result{ExitCode: -1}, fmt.Errorf("ssh %s: session: %w", s.cfg.Addr, err)
		}
	}
	defer sess.Close()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	out := newOutput(c.MaxOutput)
	var res Result
	pid := &pidLine{next: stream{out, &res.StdoutBytes}, got: make(chan struct{})}
	sess.Stdout, sess.Stderr = pid, stream{out, &res.StderrBytes}
	if c.Stdin != nil {
		sess.Stdin = c.Stdin
	} else {
		sess.Stdin = bytes.NewReader(nil)
	}
	start := time.Now()
	if err := sess.Start(commandLine(c)); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("ssh %s: start %s: %w", s.cfg.Addr, c.Argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	var werr, stopped error
	select {
	case werr = <-done:
	case <-out.over:
		stopped = fmt.Errorf("%w (%d bytes)", ErrOutputCap, c.MaxOutput)
	case <-ctx.Done():
		stopped = ctx.Err()
		if errors.Is(stopped, context.DeadlineExceeded) && c.Timeout > 0 {
			stopped = fmt.Errorf("%w after %s", ErrTimeout, c.Timeout)
		}
	}
	if stopped != nil {
		s.kill(pid.get())
		sess.Close()
		<-done
	}
	res.Duration = time.Since(start)
	out.result(&res)
	if stopped != nil {
		res.ExitCode = -1
		return res, fmt.Errorf("ssh %s: run %s: %w", s.cfg.Addr, c.Argv[0], stopped)
	}
	var exitErr *ssh.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		if exitErr.Signal() != "" {
			res.ExitCode = -1
		}
	default:
		res.ExitCode = -1
		var missing *ssh.ExitMissingError
		if errors.As(werr, &missing) || errors.Is(werr, io.EOF) {
			s.drop(client)
		}
		return res, fmt.Errorf("ssh %s: run %s: %w", s.cfg.Addr, c.Argv[0], werr)
	}
	return res, nil
}
