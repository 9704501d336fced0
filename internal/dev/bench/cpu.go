package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter reads the CPU time the processes behind a figure used: the
// PostgreSQL server (the postmaster, its live children and those it has
// reaped: a psql \copy's backend exits with psql), the worker, and this
// process's exited children (psql). On a machine shared with other work,
// CPU seconds say what a phase costs where wall time says how busy the
// machine was.
type cpuMeter struct {
	pgDir  string // the cluster's data directory (postmaster.pid)
	worker int    // the worker's pid; 0: none
}

type cpuSample struct{ server, worker, psql time.Duration }

func (a cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{server: a.server - b.server, worker: a.worker - b.worker, psql: a.psql - b.psql}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux.
const clockTicks = 100

func (m cpuMeter) sample() cpuSample {
	var s cpuSample
	if pm := postmasterPID(m.pgDir); pm > 0 {
		self, _ := procTimes(pm)
		s.server = self
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if t, ppid := procTimes(pid); ppid == pm {
				s.server += t
			}
		}
	}
	if m.worker > 0 {
		s.worker, _ = procTimes(m.worker)
		// the worker's own threads only (it starts no children)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		s.psql = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// procTimes returns a process's CPU time, its own and that of the
// children it has reaped, and its parent's pid.
func procTimes(pid int) (time.Duration, int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// the command may hold spaces: fields start after its closing paren
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17
	if len(f) < 15 {
		return 0, 0
	}
	ppid, _ := strconv.Atoi(f[1])
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, ppid
}

func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
