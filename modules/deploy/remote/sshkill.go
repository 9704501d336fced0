package remote

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"time"
)

// pidLine takes the first line of stdout (the remote group's pid, from
// commandLine) and passes the rest on.
type pidLine struct {
	next io.Writer
	buf  []byte
	pid  int
	done bool
	mu   sync.Mutex
	got  chan struct{}
}

func (p *pidLine) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	if !p.done {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(p.buf) < 32 {
				p.buf = append(p.buf, b...)
			}
			return n, nil
		}
		p.buf = append(p.buf, b[:i]...)
		p.pid, _ = strconv.Atoi(string(bytes.TrimSpace(p.buf)))
		p.done = true
		close(p.got)
		b = b[i+1:]
	}
	if len(b) > 0 {
		_, _ = p.next.Write(b)
	}
	return n, nil
}

func (p *pidLine) get() int {
	select {
	case <-p.got:
	case <-time.After(2 * time.Second):
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// kill ends a cancelled command's process group on the target, over a
// session of its own (OpenSSH may ignore signal requests).
func (s *SSH) kill(pid int) {
	if pid <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := s.connect(ctx)
	if err != nil {
		return
	}
	sess, err := cl.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	// Only while pid still leads its session (the command's): a pid that
	// ended meanwhile may have been reused.
	p := strconv.Itoa(pid)
	_ = sess.Run(`[ "$(sed -e 's/^.*) //' /proc/` + p + `/stat 2>/dev/null | cut -d' ' -f4)" = ` + p + ` ] && kill -KILL -` + p + ` 2>/dev/null; true`)
}
