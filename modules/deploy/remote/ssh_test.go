package remote_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"contextworker/internal/dev/sshd"
	"contextworker/modules/deploy/remote"
)

// TestSSHHostKeys: a host missing from known_hosts, or listed with another
// key, is refused before anything runs.
func TestSSHHostKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("sshd: not in -short")
	}
	srv := sshd.Start(t)
	other, _ := sshd.NewKey(t)
	tests := []struct {
		name, knownHosts, want string
	}{
		{"unknown host", "", "does not list"},
		{"other host listed", sshd.KnownHostsLine("127.0.0.1:1", srv.HostKey), "does not list"},
		{"changed key", sshd.KnownHostsLine(srv.Addr, other), "CHANGED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh := t.TempDir() + "/known_hosts"
			if err := os.WriteFile(kh, []byte(tt.knownHosts), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := remote.NewSSH(remote.SSHConfig{Addr: srv.Addr, User: srv.User, KnownHosts: kh, PrivateKey: srv.ClientKey})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			marker := t.TempDir() + "/ran"
			_, err = r.Run(context.Background(), remote.Command{Argv: []string{"touch", marker}, Env: cleanEnv})
			if !errors.Is(err, remote.ErrHostKey) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrHostKey saying %q", err, tt.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran despite the host key")
			}
		})
	}
	t.Run("wrong client key", func(t *testing.T) {
		_, key := sshd.NewKey(t)
		r, err := remote.NewSSH(remote.SSHConfig{Addr: srv.Addr, User: srv.User, KnownHosts: srv.KnownHosts, PrivateKey: key})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Run(context.Background(), remote.Command{Argv: []string{"true"}, Env: cleanEnv}); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("err = %v, want an authentication failure", err)
		}
	})
}

// TestSSHReusesConnection: many commands, one TCP connection (sshd logs
// nothing per connection at LogLevel ERROR, so count via the remote's
// SSH_CONNECTION port, which is per connection).
func TestSSHReusesConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("sshd: not in -short")
	}
	srv := sshd.Start(t)
	r, err := remote.NewSSH(remote.SSHConfig{Addr: srv.Addr, User: srv.User, KnownHosts: srv.KnownHosts, PrivateKey: srv.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[string]bool{}
	for range 5 {
		// The parent of the command (the per-connection sshd) identifies
		// the connection.
		res, err := r.Run(context.Background(), remote.Command{Argv: []string{"python3", "-c", "import os;print(os.getppid())"}, Env: cleanEnv})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%+v %v", res, err)
		}
		seen[strings.TrimSpace(res.Tail)] = true
	}
	if len(seen) != 1 {
		t.Errorf("commands ran under %d connections (%v), want 1", len(seen), seen)
	}
}

// TestNoHostKeyBypass: no Go file of the repository names the SDK's
// host-key bypass (the name is split so this file does not match).
func TestNoHostKeyBypass(t *testing.T) {
	bypass := "Insecure" + "IgnoreHostKey"
	root := filepath.Join("..", "..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".data" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), bypass) {
			t.Errorf("%s uses %s", p, bypass)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
