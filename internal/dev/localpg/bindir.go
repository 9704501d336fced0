package localpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// findBinDir returns the directory holding initdb and pg_ctl: explicit, from
// $PG_BIN_DIR, from pg_config, from the Debian layout, or from $PATH.
func findBinDir(explicit string) (string, error) {
	if explicit != "" {
		return checkBinDir(explicit, "Options.BinDir")
	}
	if env := os.Getenv("PG_BIN_DIR"); env != "" {
		return checkBinDir(env, "$PG_BIN_DIR")
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		// pg_config may come from the client library package only, whose
		// bindir has no server: then keep looking.
		if dir, err := checkBinDir(strings.TrimSpace(string(out)), "pg_config --bindir"); err == nil {
			return dir, nil
		}
	}
	if dir := newestDebianBinDir(); dir != "" {
		return dir, nil
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(initdb), nil
	}
	return "", errors.New("localpg: no PostgreSQL server binaries (initdb, pg_ctl) found in $PG_BIN_DIR, " +
		"`pg_config --bindir`, /usr/lib/postgresql/*/bin or $PATH (hint: install the PostgreSQL server, or set PG_BIN_DIR)")
}

// checkBinDir verifies that dir holds the server binaries.
func checkBinDir(dir, source string) (string, error) {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("localpg: %s %q has no %s: %w (hint: point it at the PostgreSQL server's bin directory)",
				source, dir, name, err)
		}
	}
	return dir, nil
}

// newestDebianBinDir returns the bin directory of the highest PostgreSQL
// major version installed the Debian way, or "".
func newestDebianBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64) // "15", "9.6"
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		va, vb := version(a), version(b)
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	for _, dir := range dirs {
		if _, err := checkBinDir(dir, "candidate"); err == nil {
			return dir
		}
	}
	return ""
}
