// Package remote runs argv commands on a deploy target: locally (a clean
// environment, its own process group, killed on cancel or timeout) or over
// SSH (known_hosts verified, key auth, one connection per target reused,
// every argument shell-quoted because sshd runs commands through the
// remote user's shell). It never builds a shell string from input and
// never decides what may run: callers check commands against the target's
// policy first.
package remote

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Command is one program run on a target.
type Command struct {
	// Argv is the program and its arguments; never a shell string.
	Argv []string
	// Dir is the absolute working directory on the target.
	Dir string
	// Env is the complete environment (KEY=value); nothing is inherited.
	Env []string
	// Stdin, when set, is copied to the program's standard input.
	Stdin io.Reader
	// Timeout bounds the run (0: only ctx).
	Timeout time.Duration
	// MaxOutput stops the program once it has written more than this many
	// bytes (stdout and stderr together; 0: no cap).
	MaxOutput int64
}

// Result is how a command ended. A non-zero exit is a Result, not an error.
type Result struct {
	ExitCode    int           `json:"exit_code"`
	StdoutBytes int64         `json:"stdout_bytes"`
	StderrBytes int64         `json:"stderr_bytes"`
	Tail        string        `json:"tail,omitempty"`
	Truncated   bool          `json:"truncated,omitempty"`
	Duration    time.Duration `json:"duration"`
}

// TailBytes is how much of the end of a command's output a Result keeps.
const TailBytes = 4096

// Errors callers test with errors.Is.
var (
	ErrTimeout   = errors.New("command timed out")
	ErrOutputCap = errors.New("command output over the cap")
	ErrHostKey   = errors.New("host key verification failed")
)

// Runner runs commands on one target.
type Runner interface {
	Run(ctx context.Context, c Command) (Result, error)
	Close() error
}

// output collects a command's stdout and stderr: it counts both, keeps
// the last TailBytes of their interleaving, and reports when the cap is
// passed (once). Memory stays bounded whatever the program writes.
type output struct {
	mu       sync.Mutex
	tail     []byte
	total    int64
	max      int64
	over     chan struct{}
	overOnce sync.Once
}

func newOutput(max int64) *output {
	return &output{max: max, over: make(chan struct{}), tail: make([]byte, 0, TailBytes)}
}

type stream struct {
	o *output
	n *int64
}

func (s stream) Write(p []byte) (int, error) {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	*s.n += int64(len(p))
	o.total += int64(len(p))
	if o.max > 0 && o.total > o.max {
		o.overOnce.Do(func() { close(o.over) })
	}
	keep := p
	if len(keep) > TailBytes {
		keep = keep[len(keep)-TailBytes:]
	}
	if len(o.tail)+len(keep) > TailBytes {
		drop := len(o.tail) + len(keep) - TailBytes
		o.tail = append(o.tail[:0], o.tail[drop:]...)
	}
	o.tail = append(o.tail, keep...)
	return len(p), nil
}

func (o *output) result(r *Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r.Tail = string(o.tail)
	r.Truncated = o.total > int64(len(o.tail))
}
