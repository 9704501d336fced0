// Package netguard is the platform's one guard against server-side request
// forgery: an HTTP client for URLs that users name (harvest feeds, ingest
// documents) which refuses, at connect time, addresses the operator has
// not allowed. It checks the address a connection really goes to, after
// DNS resolution and on every redirect hop, so a host name that resolves
// (or re-resolves) to a private address is refused as well. It never uses
// a proxy, whose address is all the check would see.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrRefused marks a connection the policy refused: it will not succeed on
// retry until the configuration changes.
var ErrRefused = errors.New("refused by the network policy")

// Policy says which destinations besides public addresses are allowed.
type Policy struct {
	// AllowLoopback admits 127.0.0.0/8 and ::1 (tests, a local mirror).
	AllowLoopback bool
	// AllowPrivate admits private, shared (carrier-grade NAT), link-local
	// (cloud metadata lives there), multicast and unspecified addresses.
	AllowPrivate bool
}

// sharedSpace is 100.64.0.0/10 (RFC 6598), which net.IP.IsPrivate leaves
// out but which reaches hosts inside a provider's network all the same.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// Check reports whether the policy admits a connection to ip; the error
// wraps ErrRefused and names the setting that would admit it.
func (p Policy) Check(ip net.IP) error {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return fmt.Errorf("%w: %q is not an IP address", ErrRefused, ip)
	}
	addr = addr.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case addr.IsLoopback():
		if p.AllowLoopback {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address (set network.allow_loopback)", ErrRefused, addr)
	case addr.IsPrivate(), sharedSpace.Contains(addr), addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast(),
		addr.IsInterfaceLocalMulticast(), addr.IsMulticast(), addr.IsUnspecified():
		if p.AllowPrivate {
			return nil
		}
		return fmt.Errorf("%w: %s is a private, link-local or special address (set network.allow_private)", ErrRefused, addr)
	}
	return nil
}

// control is a net.Dialer Control hook: it runs for every connection
// after name resolution, with the address the socket is about to reach.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%w: address %q is not an IP", ErrRefused, host)
	}
	return p.Check(ip)
}

// Options shape the client.
type Options struct {
	// Timeout bounds connecting, the TLS handshake and the wait for
	// response headers (not the body, whose reading the caller bounds).
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed (default 5).
	MaxRedirects int
	// KeepCompression leaves gzip on the wire for the caller to unpack,
	// so that its size limit applies to the bytes actually sent.
	KeepCompression bool
}

// Client returns an HTTP client that connects only where p admits, uses no
// proxy, and follows at most MaxRedirects redirects, to http(s) only.
func (p Policy) Client(o Options) *http.Client {
	maxRedirects := o.MaxRedirects
	if maxRedirects <= 0 {
		maxRedirects = 5
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: p.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConnsPerHost:   4,
			DisableCompression:    o.KeepCompression,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: stopped after %d redirects", ErrRefused, maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to %q", ErrRefused, req.URL.Scheme)
			}
			return nil
		},
	}
}
