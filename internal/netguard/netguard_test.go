package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	none, loopback, private := Policy{}, Policy{AllowLoopback: true}, Policy{AllowPrivate: true}
	tests := []struct {
		ip                           string
		none, withLoopback, withPriv bool // allowed?
	}{
		{"93.184.216.34", true, true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true, true},
		{"127.0.0.1", false, true, false},
		{"127.8.9.10", false, true, false},
		{"::1", false, true, false},
		{"::ffff:127.0.0.1", false, true, false}, // IPv4-mapped loopback
		{"10.1.2.3", false, false, true},
		{"172.16.0.1", false, false, true},
		{"192.168.1.1", false, false, true},
		{"::ffff:192.168.1.1", false, false, true},
		{"fd00::1", false, false, true},
		{"100.64.0.1", false, false, true},      // shared address space
		{"169.254.169.254", false, false, true}, // cloud metadata
		{"fe80::1", false, false, true},
		{"0.0.0.0", false, false, true},
		{"::", false, false, true},
		{"224.0.0.1", false, false, true},
		{"ff01::1", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := net.ParseIP(tt.ip)
			for _, c := range []struct {
				name string
				p    Policy
				want bool
			}{{"default", none, tt.none}, {"allow_loopback", loopback, tt.withLoopback}, {"allow_private", private, tt.withPriv}} {
				err := c.p.Check(ip)
				if (err == nil) != c.want {
					t.Errorf("%s: Check = %v, want allowed %v", c.name, err, c.want)
				}
				if err != nil && !errors.Is(err, ErrRefused) {
					t.Errorf("%s: %v does not wrap ErrRefused", c.name, err)
				}
			}
		})
	}
}

// TestClientChecksTheDialedAddress: the check runs where the connection
// really goes, including a redirect from an allowed place to a refused one.
func TestClientChecksTheDialedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "ok")
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		}
	}))
	defer srv.Close()
	get := func(p Policy, path string) error {
		resp, err := p.Client(Options{Timeout: 5 * time.Second, MaxRedirects: 3}).Get(srv.URL + path)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(Policy{}, "/ok"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "allow_loopback") {
		t.Errorf("loopback server by default: %v, want refused naming allow_loopback", err)
	}
	// "localhost" is resolved first: the check sees the address.
	if _, err := (Policy{}).Client(Options{Timeout: 5 * time.Second}).Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/ok"); !errors.Is(err, ErrRefused) {
		t.Errorf("localhost by name: %v, want refused", err)
	}
	if err := get(Policy{AllowLoopback: true}, "/ok"); err != nil {
		t.Errorf("allowed loopback: %v", err)
	}
	for _, path := range []string{"/loop", "/to-file"} {
		if err := get(Policy{AllowLoopback: true}, path); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want refused", path, err)
		}
	}
}
