package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// errPermanent marks a fetch that cannot succeed on retry (refused by the
// network policy, 4xx).
var errPermanent = errors.New("permanent")

// fetcher gets document URLs under the network policy, reading at most
// maxSize+1 bytes so an over-size document is detected without holding
// more of it.
type fetcher struct {
	policy  Network
	client  *http.Client
	maxSize int64
}

func newFetcher(n Network, timeout time.Duration, maxSize int64) *fetcher {
	f := &fetcher{policy: n, maxSize: maxSize}
	dialer := &net.Dialer{Timeout: timeout, Control: f.checkAddr}
	f.client = &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // the address check must see the real destination
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: timeout,
			MaxIdleConnsPerHost: 4,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %q refused", req.URL.Scheme)
			}
			return nil
		},
	}
	return f
}

// checkAddr runs for every connection after DNS resolution, so a name that
// resolves to a loopback or private address is refused too.
func (f *fetcher) checkAddr(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return fmt.Errorf("%w: address %q is not an IP", errPermanent, host)
	case ip.IsLoopback():
		if !f.policy.AllowLoopback {
			return fmt.Errorf("%w: %s is a loopback address (set network.allow_loopback)", errPermanent, ip)
		}
	case ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsUnspecified(), ip.IsMulticast():
		if !f.policy.AllowPrivate {
			return fmt.Errorf("%w: %s is a private or special address (set network.allow_private)", errPermanent, ip)
		}
	}
	return nil
}

// get fetches rawURL. An error wrapping errPermanent will not go away on
// retry; others (network, 5xx) may.
func (f *fetcher) get(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %v", rawURL, errPermanent, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err) // errPermanent stays wrapped
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("fetch %s: status %s", rawURL, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetch %s: %w: status %s", rawURL, errPermanent, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read: %w", rawURL, err)
	}
	return body, nil
}
