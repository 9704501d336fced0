package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"contextworker/internal/dev/localpg"
	"contextworker/internal/pg"
)

// Huge pages for the tuned server's shared memory (Options.HugePages).
//
// PostgreSQL maps its shared memory into every backend, and a backend
// touching a 4 kB page of it for the first time takes a page fault; on
// this VM such a fault costs microseconds, so a new backend that reads
// half a gigabyte of shared buffers (a first load's key build, a
// re-harvest's scan) pays about a second of CPU before its first pass is
// as fast as its next. With 2 MB pages it takes 512 times fewer. The
// same three 1M first loads on a fresh server (no warm-up, 2 December)
// took 8.7-10.1, 6.4-6.8 and 4.6-6.1 s of the server's CPU on 4 kB pages
// and 5.3-6.3, 4.8 and 3.6-4.6 s on huge pages. PostgreSQL's
// documentation advises them for a large shared_buffers; they need the
// OS to reserve them (vm.nr_hugepages), which is a machine's setting,
// not the harvest's.

// hugePagesPath is the kernel's count of reserved huge pages, under the
// file system root.
const hugePagesPath = "proc/sys/vm/nr_hugepages"

// hugePages reserves more huge pages in the kernel and gives them back.
type hugePages struct {
	root string // "/" (a directory of test files in tests)
	// before is the count found, to restore; added is how many were added.
	before, added int64
}

// reserve raises the kernel's reserved huge pages by n and reports how
// many it holds now; the kernel may find fewer than asked (fragmented
// memory), so the caller checks. Without the right to (not root), it
// fails and changes nothing.
func (h *hugePages) reserve(n int64) (int64, error) {
	path := filepath.Join(h.root, hugePagesPath)
	before, err := readCount(path)
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(path, []byte(strconv.FormatInt(before+n, 10)), 0o644); err != nil {
		return 0, fmt.Errorf("reserving %d huge pages: %w", n, err)
	}
	h.before, h.added = before, n
	now, err := readCount(path)
	if err != nil {
		return 0, err
	}
	return now - before, nil
}

// release puts the kernel's count back where reserve found it (pages a
// server still holds are freed when it stops).
func (h *hugePages) release() error {
	if h.added == 0 {
		return nil
	}
	h.added = 0
	return os.WriteFile(filepath.Join(h.root, hugePagesPath), []byte(strconv.FormatInt(h.before, 10)), 0o644)
}

func readCount(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// hugePagesNeeded is how many huge pages the server's shared memory takes
// with the settings it runs with (PostgreSQL 15 computes it).
func hugePagesNeeded(ctx context.Context, query func(ctx context.Context, sql string) (string, error)) (int64, error) {
	s, err := query(ctx, `SHOW shared_memory_size_in_huge_pages`)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("shared_memory_size_in_huge_pages is %q: this kernel has no huge pages", s)
	}
	return n, nil
}

// onHugePages restarts the tuned server with its shared memory on huge
// pages it reserves in h, and returns the restarted cluster. Where it
// cannot (not root, a kernel without them, memory too fragmented), it
// says so and returns the cluster as it runs, on 4 kB pages.
func onHugePages(ctx context.Context, cluster *localpg.Cluster, h *hugePages, say func(string, ...any)) (*localpg.Cluster, error) {
	if !cluster.Owned() {
		// Started by someone else: this bench may not restart it.
		say("huge pages: the tuned server was running already (pid in %s), so it runs as it was started; stop it for figures on huge pages",
			filepath.Join(cluster.Dir(), "postmaster.pid"))
		return cluster, nil
	}
	admin, err := pg.Connect(ctx, cluster.DSN("postgres"), 1, time.Minute, nil)
	if err != nil {
		return cluster, err
	}
	defer admin.Close()
	n, err := hugePagesNeeded(ctx, func(ctx context.Context, sql string) (s string, err error) {
		return s, admin.QueryRow(ctx, sql).Scan(&s)
	})
	var got int64
	if err == nil {
		got, err = h.reserve(n)
	}
	if err == nil && got < n {
		err = fmt.Errorf("the kernel found %d of the %d huge pages asked for", got, n)
	}
	if err != nil {
		if rerr := h.release(); rerr != nil {
			return cluster, rerr
		}
		say("huge pages: %v; the tuned server runs on 4 kB pages", err)
		return cluster, nil
	}
	// on, not try: a server that fell back to 4 kB pages would fail to
	// start instead of giving figures that claim huge pages.
	if _, err := admin.Exec(ctx, `ALTER SYSTEM SET huge_pages = on`); err != nil {
		return cluster, err
	}
	admin.Close()
	dir, port := cluster.Dir(), cluster.Port()
	if err := cluster.Stop(ctx); err != nil {
		return cluster, err
	}
	restarted, err := localpg.Start(ctx, localpg.Options{Dir: dir, Port: port})
	if err != nil {
		// The stopped cluster, not nil: the caller stops it again at exit.
		return cluster, fmt.Errorf("restarting the tuned server with huge_pages = on: %w (until this bench resets it, %s sets it: "+
			"delete that line to start the server without huge pages)", err, filepath.Join(dir, "postgresql.auto.conf"))
	}
	cluster = restarted
	// The running server keeps its huge pages; the next start of this
	// cluster (after the bench has given them back) must not need them.
	admin, err = pg.Connect(ctx, cluster.DSN("postgres"), 1, time.Minute, nil)
	if err != nil {
		return cluster, err
	}
	_, err = admin.Exec(ctx, `ALTER SYSTEM RESET huge_pages`)
	admin.Close()
	if err != nil {
		return cluster, err
	}
	say("huge pages: the tuned server's shared memory is on %d huge pages of 2 MB the bench reserved (vm.nr_hugepages %d, %d at exit again)",
		n, h.before+n, h.before)
	return cluster, nil
}
