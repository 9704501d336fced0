// Package sshd starts a private OpenSSH server on loopback for tests: the
// Debian openssh-server binary on a free port, a temporary host key and
// authorized_keys, and a known_hosts for it. Test tooling only: it never
// runs in production, and it skips (with the fix) when sshd is missing.
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
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	hostPub, hostPEM := newKey(t, "host")
	clientPub, clientPEM := newKey(t, "client")
	s := &Server{Host: "127.0.0.1", User: u.Username, ClientKey: clientPEM, HostKey: hostPub, Dir: dir,
		KnownHosts: filepath.Join(dir, "known_hosts"), ClientKeyFile: filepath.Join(dir, "client_key")}
	write(t, filepath.Join(dir, "host_key"), hostPEM, 0o600)
	write(t, s.ClientKeyFile, clientPEM, 0o600)
	write(t, filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600)
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege-separation directory.
		_ = os.MkdirAll("/run/sshd", 0o755)
	}
	var lastErr error
	for range 3 {
		port := freePort(t)
		s.Port, s.Addr = port, net.JoinHostPort(s.Host, strconv.Itoa(port))
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
		write(t, filepath.Join(dir, "sshd_config"), []byte(conf), 0o600)
		if lastErr = s.run(t); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("sshd: %v", lastErr)
	}
	write(t, s.KnownHosts, []byte(KnownHostsLine(s.Addr, hostPub)), 0o600)
	return s
}

func (s *Server) run(t testing.TB) error {
	t.Helper()
	cmd := exec.Command(Binary, "-D", "-e", "-f", filepath.Join(s.Dir, "sshd_config"))
	logf, err := os.Create(filepath.Join(s.Dir, "sshd.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
			return fmt.Errorf("sshd exited: %s", strings.TrimSpace(string(b)))
		default:
		}
		if banner(s.Addr) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("sshd on %s did not answer within 10s", s.Addr)
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
	return knownHostsLine(addr, key)
}

func knownHostsLine(addr string, key ssh.PublicKey) string {
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
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp, pem.EncodeToMemory(block)
}

func write(t testing.TB, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
