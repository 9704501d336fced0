// Package sshd starts a private OpenSSH server on loopback for tests and
// dev stacks: the Debian openssh-server binary on a free (or given) port,
// a host key and authorized_keys of its own, and a known_hosts for it.
// Dev tooling only: it never runs in production; tests skip (with the
// fix) when sshd is missing.
package sshd

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Binary is where Debian's openssh-server installs sshd.
const Binary = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	// Addr is 127.0.0.1:port.
	Addr string
	Host string
	Port int
	// User is the account the client key logs in as (the test's own).
	User string
	// KnownHosts is a known_hosts file listing the server's host key.
	KnownHosts string
	// ClientKey is the client's private key (OpenSSH PEM) and
	// ClientKeyFile a file holding it.
	ClientKey     []byte
	ClientKeyFile string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey
	Dir     string
}

// Start starts an sshd for the test and stops it when the test ends. It
// skips the test when /usr/sbin/sshd is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("sshd: %s is missing; install it with `apt-get install -y openssh-server` to run the SSH tests", Binary)
	}
	dir := t.TempDir()
	var s *Server
	var stop func()
	var err error
	for range 3 { // a free port may be taken before sshd binds it
		if s, stop, err = Launch(dir, 0); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(stop)
	return s
}

// Launch starts sshd with its files in dir (created: host key, client key
// id_ed25519, authorized_keys, known_hosts, sshd_config, sshd.log) on
// 127.0.0.1:port (0: a free port), for tests and dev stacks (`make run`).
// Keys already in dir are kept, so a dev stack's known_hosts stays valid
// across restarts. stop kills sshd.
func Launch(dir string, port int) (*Server, func(), error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, nil, fmt.Errorf("sshd: %s is missing (apt-get install -y openssh-server): %w", Binary, err)
	}
	u, err := user.Current()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, nil, err
	}
	hostPub, err := keyFile(filepath.Join(dir, "host_key"), "host")
	if err != nil {
		return nil, nil, err
	}
	clientKeyFile := filepath.Join(dir, "id_ed25519")
	clientPub, err := keyFile(clientKeyFile, "client")
	if err != nil {
		return nil, nil, err
	}
	clientPEM, err := os.ReadFile(clientKeyFile)
	if err != nil {
		return nil, nil, err
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, nil, err
		}
	}
	s := &Server{Host: "127.0.0.1", Port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), User: u.Username,
		ClientKey: clientPEM, ClientKeyFile: clientKeyFile, HostKey: hostPub, Dir: dir, KnownHosts: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(s.KnownHosts, []byte(KnownHostsLine(s.Addr, hostPub)), 0o600); err != nil {
		return nil, nil, err
	}
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege-separation directory.
		_ = os.MkdirAll("/run/sshd", 0o755)
	}
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowUsers %s
LogLevel ERROR
`, port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), u.Username)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600); err != nil {
		return nil, nil, err
	}
	stop, err := s.run()
	if err != nil {
		return nil, nil, err
	}
	return s, stop, nil
}

func (s *Server) run() (func(), error) {
	cmd := exec.Command(Binary, "-D", "-e", "-f", filepath.Join(s.Dir, "sshd_config"))
	logf, err := os.Create(filepath.Join(s.Dir, "sshd.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
			return nil, fmt.Errorf("sshd exited: %s", strings.TrimSpace(string(b)))
		default:
		}
		if banner(s.Addr) {
			return stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("sshd on %s did not answer within 10s", s.Addr)
}

// banner reports whether an SSH server answers on addr.
func banner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// KnownHostsLine is a known_hosts line for key at addr (host:port).
func KnownHostsLine(addr string, key ssh.PublicKey) string {
	host, port, _ := net.SplitHostPort(addr)
	h := host
	if port != "22" {
		h = "[" + host + "]:" + port
	}
	return h + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
}

// NewKey returns a fresh ed25519 public key and its private key as
// OpenSSH PEM.
func NewKey(t testing.TB) (ssh.PublicKey, []byte) { return newKey(t, "cw-test") }

func newKey(t testing.TB, comment string) (ssh.PublicKey, []byte) {
	t.Helper()
	pub, b, err := generate(comment)
	if err != nil {
		t.Fatal(err)
	}
	return pub, b
}

func generate(comment string) (ssh.PublicKey, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return sp, pem.EncodeToMemory(block), nil
}

// keyFile returns the public half of the ed25519 key in path, creating
// the key first when the file does not exist.
func keyFile(path, comment string) (ssh.PublicKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("sshd: %s: %w", path, err)
		}
		return signer.PublicKey(), nil
	}
	pub, pemBytes, err := generate(comment)
	if err != nil {
		return nil, err
	}
	return pub, os.WriteFile(path, pemBytes, 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
