package harvest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"contextworker/internal/netguard"
)

// validators identify one version of a feed: ETag and Last-Modified for
// HTTP, size and modification time for files.
type validators struct {
	ETag         string
	LastModified string
	Length       int64
}

func (v validators) same(o validators) bool {
	if v.ETag != "" || o.ETag != "" {
		return v.ETag == o.ETag
	}
	return v.LastModified == o.LastModified && v.Length == o.Length
}

// fetched is an open feed body.
type fetched struct {
	Body        io.ReadCloser
	Validators  validators
	NotModified bool
}

// fetcher opens feeds under the SSRF policy.
type fetcher struct {
	net     Network
	client  *http.Client
	maxSize int64
}

func newFetcher(n Network, timeout time.Duration, maxSize int64) *fetcher {
	policy := netguard.Policy{AllowLoopback: n.AllowLoopback, AllowPrivate: n.AllowPrivate}
	// Keep gzip on the wire; feed.Open detects and unpacks it, so the
	// size limit applies to the bytes really sent.
	return &fetcher{net: n, maxSize: maxSize, client: policy.Client(netguard.Options{Timeout: timeout, KeepCompression: true})}
}

// open opens the feed. prev, when set, makes an HTTP request conditional.
func (f *fetcher) open(ctx context.Context, rawURL string, headers map[string]string, prev *validators) (*fetched, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nonRetryable(ErrTypeBadConfig, "feed url %q does not parse", rawURL)
	}
	switch u.Scheme {
	case "file":
		return f.openFile(u)
	case "http", "https":
		return f.openHTTP(ctx, u, headers, prev)
	}
	return nil, nonRetryable(ErrTypeBadConfig, "feed url %q: scheme must be http, https or file", rawURL)
}

func (f *fetcher) openFile(u *url.URL) (*fetched, error) {
	if !f.net.AllowFiles {
		return nil, nonRetryable(ErrTypeFeedRefused, "file:// feeds are not allowed (set network.allow_files)")
	}
	if f.net.FileRoot == "" {
		return nil, nonRetryable(ErrTypeBadConfig, "file:// feeds need network.file_root")
	}
	root, err := filepath.Abs(f.net.FileRoot)
	if err != nil {
		return nil, nonRetryable(ErrTypeBadConfig, "network.file_root %q: %v", f.net.FileRoot, err)
	}
	path := filepath.Clean(u.Path)
	rel, err := filepath.Rel(root, path)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, nonRetryable(ErrTypeFeedRefused, "file %s is outside network.file_root %s", path, root)
	}
	// os.Root refuses what the path check cannot see: a symlink below the
	// root that points out of it.
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open network.file_root %s: %w", root, err)
	}
	defer r.Close()
	fh, err := r.Open(rel)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nonRetryable(ErrTypeFeedBroken, "feed file %s does not exist", path)
	// os.Root's error for a way out is not exported; its text is stable.
	case err != nil && strings.Contains(err.Error(), "escapes from parent"):
		return nil, nonRetryable(ErrTypeFeedRefused, "file %s leads outside network.file_root %s (a symlink?)", path, root)
	case err != nil:
		return nil, fmt.Errorf("open feed %s: %w", path, err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if st.IsDir() {
		fh.Close()
		return nil, nonRetryable(ErrTypeFeedBroken, "feed %s is a directory", path)
	}
	if st.Size() > f.maxSize {
		fh.Close()
		return nil, nonRetryable(ErrTypeFeedTooLarge, "feed %s is %d bytes, over max_feed_bytes %d", path, st.Size(), f.maxSize)
	}
	return &fetched{Body: fh, Validators: validators{Length: st.Size(), LastModified: st.ModTime().UTC().Format(time.RFC3339Nano)}}, nil
}

func (f *fetcher) openHTTP(ctx context.Context, u *url.URL, headers map[string]string, prev *validators) (*fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nonRetryable(ErrTypeBadConfig, "feed request: %v", err)
	}
	req.Header.Set("User-Agent", "contextworker-harvest/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if prev != nil {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrRefused) {
			return nil, nonRetryable(ErrTypeFeedRefused, "feed %s: %v", u.Redacted(), errors.Unwrap(err))
		}
		// network trouble (a refused connection, a host that does not
		// resolve): retry within the fetch budget
		return nil, &feedTrouble{kind: ErrTypeFeedUnavailable, err: fmt.Errorf("feed %s: %w", u.Redacted(), err)}
	}
	v := validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Length: resp.ContentLength}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		resp.Body.Close()
		return &fetched{NotModified: true, Validators: *prev}, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		resp.Body.Close()
		return nil, &feedTrouble{kind: ErrTypeFeedUnavailable, err: fmt.Errorf("feed %s: HTTP %s", u.Redacted(), resp.Status)}
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, nonRetryable(ErrTypeFeedBroken, "feed %s: HTTP %s", u.Redacted(), resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" {
		resp.Body.Close()
		return nil, nonRetryable(ErrTypeFeedBroken, "feed %s is an HTML page (Content-Type %s), not a feed: check the URL and credentials", u.Redacted(), mt)
	}
	if resp.ContentLength > f.maxSize {
		resp.Body.Close()
		return nil, nonRetryable(ErrTypeFeedTooLarge, "feed %s is %d bytes, over max_feed_bytes %d", u.Redacted(), resp.ContentLength, f.maxSize)
	}
	return &fetched{Body: resp.Body, Validators: v}, nil
}

// limitReader fails, rather than truncating, when more than max bytes come.
type limitReader struct {
	r    io.Reader
	n    atomic.Int64 // read by others while the producer reads
	max  int64
	what string
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.n.Add(int64(n)) > l.max {
		return n, nonRetryable(ErrTypeFeedTooLarge, "feed is over %s %d bytes", l.what, l.max)
	}
	return n, err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// isGzip reports whether the feed starts like gzip.
func isGzip(r *bufio.Reader) (bool, error) {
	head, err := r.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b, nil
}
