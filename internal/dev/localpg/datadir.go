package localpg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxSocketPath is the size of sun_path on Linux; PostgreSQL refuses socket
// paths that do not fit.
const maxSocketPath = 108

// prepareDir makes sure the data directory exists and belongs to the server
// user. It reports whether the directory is empty, so needs initdb.
func (c *Cluster) prepareDir() (fresh bool, err error) {
	entries, err := os.ReadDir(c.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := c.mkdirAll(); err != nil {
			return false, err
		}
		fresh = true
	case err != nil:
		return false, fmt.Errorf("localpg: read data dir %s: %w", c.dir, err)
	case len(entries) == 0:
		fresh = true
	default:
		if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); err != nil {
			return false, fmt.Errorf("localpg: %s is neither empty nor a PostgreSQL data directory (no PG_VERSION): "+
				"refusing to initialise over it (hint: remove it or choose another Dir)", c.dir)
		}
	}
	if c.runAs == nil {
		return fresh, nil
	}
	if err := c.runAs.checkSearchable(filepath.Dir(c.dir)); err != nil {
		return false, err
	}
	if fresh {
		// initdb wants the directory owned by the user it runs as. An
		// existing cluster keeps its owner: postgres itself reports a
		// mismatch in its log, and we never chown somebody's data.
		if err := os.Chown(c.dir, int(c.runAs.uid), int(c.runAs.gid)); err != nil {
			return false, fmt.Errorf("localpg: chown data dir %s to %s: %w", c.dir, c.runAs.name, err)
		}
		if err := os.Chmod(c.dir, 0o700); err != nil {
			return false, fmt.Errorf("localpg: chmod data dir %s: %w", c.dir, err)
		}
	}
	return fresh, nil
}

// mkdirAll creates the data directory and any missing parents. Parents we
// create get mode 0755 whatever the umask, so that the server user, which
// differs from us when we run as root, can reach the data directory.
func (c *Cluster) mkdirAll() error {
	var created []string
	for d := c.dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("localpg: create data dir %s: %w", c.dir, err)
	}
	for _, d := range created {
		if d == c.dir {
			continue
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("localpg: chmod %s: %w", d, err)
		}
	}
	return nil
}

// runningServer reports the server running from dir, if any, from its
// postmaster.pid lock file.
func runningServer(dir string) (pid, port int, ok bool) {
	data, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, 0, false
	}
	pid, port, err = parsePIDFile(data)
	if err != nil || !processAlive(pid) {
		return 0, 0, false // stale lock file: the next postmaster removes it
	}
	// After a crash the pid may belong to an unrelated process by now.
	if comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil &&
		strings.TrimSpace(string(comm)) != "postgres" {
		return 0, 0, false
	}
	return pid, port, true
}

// parsePIDFile reads the postmaster's pid (line 1) and port (line 4) from
// postmaster.pid.
func parsePIDFile(data []byte) (pid, port int, err error) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 4 {
		return 0, 0, fmt.Errorf("postmaster.pid has %d lines, want at least 4", len(lines))
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || pid <= 0 {
		return 0, 0, fmt.Errorf("postmaster.pid: bad pid %q", lines[0])
	}
	if port, err = strconv.Atoi(strings.TrimSpace(lines[3])); err != nil || port <= 0 {
		return 0, 0, fmt.Errorf("postmaster.pid: bad port %q", lines[3])
	}
	return pid, port, nil
}

// processAlive reports whether pid exists (EPERM: it exists, not ours).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// logTail returns the last lines written to the log at or after offset.
func logTail(path string, offset int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if offset > 0 && offset <= int64(len(data)) {
		data = data[offset:]
	}
	return lastLines(string(data), 30)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for /bin/sh, which pg_ctl runs the server through.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
