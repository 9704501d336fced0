package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// damonAdmin is where the kernel's DAMON sysfs interface lists its
// monitoring threads (kdamonds), under the file system root given to
// damonPageout.
const damonAdmin = "sys/kernel/mm/damon/admin/kdamonds"

// damonPageout reports whether a running DAMON thread of this machine's
// kernel pages out memory that has been idle for a while, and after how
// long idle: the shortest of its pageout schemes' minimum age. Such a
// scheme (a VM host's way of taking back its guests' cold memory) drops
// page cache a minute or so after its last use, so a file or table that
// sat idle that long is read from disk again, and its memory is backed
// afresh. A database server's OS does not do that to its cache; the
// figures of a run that follows an idle phase then hold those reads.
// root is the file system root ("/"; a directory of test files in tests).
func damonPageout(root string) (time.Duration, bool) {
	states, _ := filepath.Glob(filepath.Join(root, damonAdmin, "*", "state"))
	var idle time.Duration
	found := false
	for _, state := range states {
		if read(state) != "on" {
			continue
		}
		contexts, _ := filepath.Glob(filepath.Join(filepath.Dir(state), "contexts", "*", "monitoring_attrs"))
		for _, attrs := range contexts {
			aggr, ok := number(filepath.Join(attrs, "intervals", "aggr_us"))
			if !ok {
				continue
			}
			schemes, _ := filepath.Glob(filepath.Join(filepath.Dir(attrs), "schemes", "*", "action"))
			for _, action := range schemes {
				if read(action) != "pageout" {
					continue
				}
				age, ok := number(filepath.Join(filepath.Dir(action), "access_pattern", "age", "min"))
				if !ok {
					continue
				}
				d := time.Duration(age*aggr) * time.Microsecond
				if !found || d < idle {
					idle, found = d, true
				}
			}
		}
	}
	return idle, found
}

// read returns a sysfs file's text without its trailing newline ("" when
// it cannot be read).
func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// number reads a sysfs file holding one unsigned number.
func number(path string) (int64, bool) {
	n, err := strconv.ParseUint(read(path), 10, 40)
	return int64(n), err == nil
}

// damonNote is the line the bench prints about DAMON pageout ("" when
// this machine has none).
func damonNote(root string) string {
	idle, ok := damonPageout(root)
	if !ok {
		return ""
	}
	return "this machine's kernel pages out memory idle for " + idle.String() +
		" (DAMON pageout): a file or table left alone that long is read from disk again and its page cache backed afresh," +
		" which a database server's OS does not do; the first run after an idle phase pays for that"
}
