package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// feedTrouble marks a failure of the feed source itself (its server, its
// network, its body), as opposed to the database or the worker: a retry may
// fix it, but only within the fetch budget (see giveUp).
type feedTrouble struct {
	kind string // ErrTypeFeedUnavailable, ErrTypeFeedTruncated or ErrTypeFeedTooSlow
	err  error
}

func (e *feedTrouble) Error() string { return e.err.Error() }
func (e *feedTrouble) Unwrap() error { return e.err }

// errTooSlow is the cause of a body closed by its watchdog.
var errTooSlow = errors.New("feed arrives too slowly")

// body wraps an open feed body. It closes the body as soon as ctx is done
// (an os.File read does not watch ctx, and a parser may sit in Read), tags
// its read errors as feed trouble, counts what arrived, and has a watchdog
// that ends a download arriving slower than minRate bytes a second over a
// window while the reader waits on it: a server dripping a byte a second
// would otherwise hold an attempt until stage_timeout.
type body struct {
	r      io.ReadCloser
	n      atomic.Int64
	closed sync.Once
	cause  atomic.Pointer[error]

	// waitNs is the time spent waiting in the source's Read; readingSince
	// is when the current Read began (0 when none is running).
	waitNs       atomic.Int64
	readingSince atomic.Int64

	// declared is the length the source declared (-1: none).
	declared int64

	stop    func() bool
	closedC chan struct{} // closed by fail
	done    chan struct{} // closed when the watchdog has ended
}

// newBody watches r, of declared length (-1: undeclared). window <= 0 or
// minRate <= 0 turns the watchdog off.
func newBody(ctx context.Context, r io.ReadCloser, declared int64, window time.Duration, minRate int64) *body {
	b := &body{r: r, declared: declared, closedC: make(chan struct{}), done: make(chan struct{})}
	b.stop = context.AfterFunc(ctx, func() { b.fail(context.Cause(ctx)) })
	if window > 0 && minRate > 0 {
		go b.watch(window, minRate)
	} else {
		close(b.done)
	}
	return b
}

func (b *body) watch(window time.Duration, minRate int64) {
	defer close(b.done)
	t := time.NewTicker(window)
	defer t.Stop()
	var lastN, lastWait int64
	for {
		select {
		case <-t.C:
		case <-b.closedC:
			return
		}
		n, wait := b.n.Load(), b.waitNs.Load()
		if since := b.readingSince.Load(); since != 0 {
			wait += time.Now().UnixNano() - since
		}
		got, waited := n-lastN, time.Duration(wait-lastWait)
		lastN, lastWait = n, wait
		// Only time spent waiting for the source counts: a reader held up by
		// the database is not the feed's fault.
		if waited >= window/2 && float64(got) < float64(minRate)*waited.Seconds() {
			b.fail(fmt.Errorf("%w: %d bytes in %s of waiting (min_feed_rate %d bytes/s)", errTooSlow, got, waited.Round(time.Millisecond), minRate))
			return
		}
	}
}

// fail closes the source, so a blocked Read returns, and remembers why.
func (b *body) fail(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	b.closed.Do(func() {
		b.cause.Store(&cause)
		close(b.closedC)
		b.r.Close()
	})
}

func (b *body) Read(p []byte) (int, error) {
	start := time.Now().UnixNano()
	b.readingSince.Store(start)
	n, err := b.r.Read(p)
	b.readingSince.Store(0)
	b.waitNs.Add(time.Now().UnixNano() - start)
	b.n.Add(int64(n))
	if err == nil || errors.Is(err, io.EOF) {
		return n, err
	}
	if c := b.cause.Load(); c != nil {
		err = *c
	}
	switch {
	case errors.Is(err, errTooSlow):
		return n, &feedTrouble{kind: ErrTypeFeedTooSlow, err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return n, err
	}
	return n, &feedTrouble{kind: ErrTypeFeedTruncated, err: fmt.Errorf("feed download broke off after %d bytes: %w", b.n.Load(), err)}
}

// Close closes the source and stops the watchdog.
func (b *body) Close() error {
	b.stop()
	b.fail(errors.New("closed"))
	<-b.done
	return nil
}

// complete reports whether everything the source declared has arrived: a
// feed that is still cut short then is so at its source, and a retry
// would read the same.
func (b *body) complete() bool {
	return b != nil && b.declared >= 0 && b.n.Load() >= b.declared
}
