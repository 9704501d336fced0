package localpg

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverOSUser is the account the server binaries run as when we are root:
// initdb and postgres refuse to run as root.
const serverOSUser = "postgres"

// osUser is an account to run the server binaries as.
type osUser struct {
	name     string
	uid, gid uint32
}

// serverUser returns the account to run the server binaries as, or nil to
// run them as ourselves (we are not root).
func serverUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverOSUser)
	if err != nil {
		return nil, fmt.Errorf("localpg: running as root, but PostgreSQL refuses root and OS user %q is missing: %w "+
			"(hint: install the PostgreSQL server package, which creates it, or run as an unprivileged user)", serverOSUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("localpg: OS user %q: bad uid %q: %w", serverOSUser, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("localpg: OS user %q: bad gid %q: %w", serverOSUser, u.Gid, err)
	}
	return &osUser{name: u.Username, uid: uint32(uid), gid: uint32(gid)}, nil
}

// sysProcAttr switches a child process to the user. We set the credentials
// directly rather than going through runuser or su: no shell quoting, no PAM,
// and the child is still our child for exec.CommandContext to kill.
func (u *osUser) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}}
}

// checkSearchable verifies that the user may traverse dir and every parent
// of it, which it needs to reach a data directory below dir.
func (u *osUser) checkSearchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("localpg: check %s: %w", d, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil // not a Unix file system: let initdb tell
		}
		perm := fi.Mode().Perm()
		searchable := perm&0o001 != 0 ||
			(st.Uid == u.uid && perm&0o100 != 0) ||
			(st.Gid == u.gid && perm&0o010 != 0)
		if !searchable {
			return fmt.Errorf("localpg: directory %s (mode %s, owner uid %d) is not searchable by OS user %q, "+
				"which runs PostgreSQL because it refuses root (hint: chmod o+x %s, or put the data dir under a world-searchable path)",
				d, perm, st.Uid, u.name, d)
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}
