package harvest

import (
	"io"
	"sync"
)

// readAhead reads its source on a goroutine of its own, a few blocks
// ahead of its reader. Stage puts it after gzip: the feed is then unpacked
// beside the parsing, not between one record and the next, as psql \copy's
// gzip -dc runs beside psql. Unpacking 290 MB took about a second of the
// reading goroutine, which an unchanged re-harvest waits on.
//
// A block is handed over full (or with the source's error): one hand-over
// per aheadBlockSize bytes. The source's bytes and errors reach the reader
// in order and unchanged, an error after the bytes before it.
type readAhead struct {
	full chan aheadBlock
	free chan []byte
	stop chan struct{}
	done chan struct{} // closed when the goroutine has returned
	once sync.Once

	blk []byte // the block being read, to give back
	cur []byte // its unread part
	err error  // the source's error, once its block is read
}

type aheadBlock struct {
	b   []byte
	err error
}

const (
	aheadBlockSize = 256 << 10
	aheadBlocks    = 4
)

// newReadAhead starts reading r. Close must be called: it ends the
// goroutine once its source's Read returns (closing the source makes it
// return).
func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{full: make(chan aheadBlock, aheadBlocks), free: make(chan []byte, aheadBlocks),
		stop: make(chan struct{}), done: make(chan struct{})}
	for range aheadBlocks {
		ra.free <- make([]byte, aheadBlockSize)
	}
	go ra.run(r)
	return ra
}

func (ra *readAhead) run(r io.Reader) {
	defer close(ra.done)
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.stop:
			return
		}
		n := 0
		var err error
		for n < len(b) && err == nil {
			var m int
			m, err = r.Read(b[n:])
			n += m
		}
		select {
		case ra.full <- aheadBlock{b: b[:n], err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	select {
	case <-ra.stop:
		return 0, io.ErrClosedPipe
	default:
	}
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.blk != nil {
			ra.free <- ra.blk[:cap(ra.blk)] // never blocks: there are aheadBlocks blocks
			ra.blk = nil
		}
		select {
		case blk := <-ra.full:
			ra.blk, ra.cur, ra.err = blk.b, blk.b, blk.err
		case <-ra.stop:
			return 0, io.ErrClosedPipe
		}
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine without waiting for it: it may be inside its
// source's Read, which returns when the source is closed.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.stop) })
	return nil
}
