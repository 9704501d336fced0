package sshd

import (
	"bytes"
	"os"
	"testing"
)

// TestLaunchKeepsKeys: a dev stack restarted on the same directory keeps
// its host and client keys, so its known_hosts and targets stay valid.
func TestLaunchKeepsKeys(t *testing.T) {
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("sshd: %s is missing; apt-get install -y openssh-server", Binary)
	}
	dir := t.TempDir()
	first, stop, err := Launch(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	second, stop, err := Launch(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !bytes.Equal(first.HostKey.Marshal(), second.HostKey.Marshal()) || !bytes.Equal(first.ClientKey, second.ClientKey) {
		t.Error("keys changed between launches")
	}
	if !banner(second.Addr) {
		t.Errorf("no SSH banner on %s", second.Addr)
	}
}
