package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"contextworker/internal/netguard"
)

// errPermanent marks a fetch that cannot succeed on retry (refused by the
// network policy, 4xx).
var errPermanent = errors.New("permanent")

// fetcher gets document URLs under the network policy, reading at most
// maxSize+1 bytes so an over-size document is detected without holding
// more of it.
type fetcher struct {
	client  *http.Client
	maxSize int64
}

func newFetcher(n Network, timeout time.Duration, maxSize int64) *fetcher {
	policy := netguard.Policy{AllowLoopback: n.AllowLoopback, AllowPrivate: n.AllowPrivate}
	c := policy.Client(netguard.Options{Timeout: timeout})
	c.Timeout = timeout // a document is small: bound the whole exchange
	return &fetcher{client: c, maxSize: maxSize}
}

// get fetches rawURL. An error wrapping errPermanent will not go away on
// retry; others (network, 5xx) may.
func (f *fetcher) get(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %v", rawURL, errPermanent, err)
	}
	resp, err := f.client.Do(req)
	if errors.Is(err, netguard.ErrRefused) {
		return nil, fmt.Errorf("fetch %s: %w: %w", rawURL, errPermanent, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
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
