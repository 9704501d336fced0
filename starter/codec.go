package starter

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"contextworker/internal/codec"
)

// codecAuthorize admits a remote-codec request as the API admits its
// routes (token, role, rate limits): a viewer may decode, an operator may
// also encode. Decoding is not tenant-scoped, because a payload names no
// tenant; what a viewer can fetch to decode is tenant-scoped already.
// anonymousDecode lets a request without a token decode, for the dev Web
// UI on a loopback-only starter (New refuses it elsewhere).
func (s *Server) codecAuthorize(anonymousDecode bool) codec.Authorize {
	return func(r *http.Request, op string) error {
		need := viewer
		if op == codec.OpEncode {
			need = operator
		}
		if anonymousDecode && op == codec.OpDecode && r.Header.Get("Authorization") == "" {
			return nil
		}
		_, err := s.admit(r, route{path: "/codec/{namespace}/" + op, need: need})
		var api *apiError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &api) && api.status == http.StatusForbidden:
			return fmt.Errorf("%s: %w", api.message, codec.ErrForbidden)
		case errors.As(err, &api) && api.status == http.StatusTooManyRequests:
			return &codec.RateLimitedError{Message: api.message, RetryAfter: api.header.Get("Retry-After")}
		case errors.As(err, &api):
			return fmt.Errorf("%s: %w", api.message, codec.ErrUnauthenticated)
		default:
			return fmt.Errorf("%v: %w", err, codec.ErrUnauthenticated)
		}
	}
}

// loopbackOnly reports whether listen (host:port) accepts loopback
// connections only.
func loopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
