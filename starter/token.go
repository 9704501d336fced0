package starter

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"contextworker/internal/ident"
)

// maxTokenTTL caps dev tokens: they are for curl sessions, not for services.
const maxTokenTTL = 30 * 24 * time.Hour

// TokenRequest describes a token to mint.
type TokenRequest struct {
	Subject  string
	Tenant   string
	Roles    []string
	TTL      time.Duration
	Issuer   string
	Audience string
}

// MintHS256 signs a token for req with the HS256 secret. It refuses what the
// starter would refuse anyway (unknown roles, a malformed tenant), so a
// minted token always works against a starter with the same configuration.
func MintHS256(secret []byte, req TokenRequest, now time.Time) (string, error) {
	var errs []error
	if len(secret) < minHMACBytes {
		errs = append(errs, fmt.Errorf("HS256 secret is %d bytes, want at least %d", len(secret), minHMACBytes))
	}
	if req.Subject == "" {
		errs = append(errs, errors.New("subject is empty"))
	}
	if err := ident.Check("tenant", req.Tenant); err != nil {
		errs = append(errs, err)
	}
	if len(req.Roles) == 0 {
		errs = append(errs, errors.New("no roles (want viewer, operator or admin)"))
	}
	for _, r := range req.Roles {
		if _, ok := roleLevels[r]; !ok {
			errs = append(errs, fmt.Errorf("unknown role %q (want viewer, operator or admin)", r))
		}
	}
	if req.TTL <= 0 || req.TTL > maxTokenTTL {
		errs = append(errs, fmt.Errorf("ttl %s is not in (0, %s]", req.TTL, maxTokenTTL))
	}
	if req.Issuer == "" || req.Audience == "" {
		errs = append(errs, errors.New("issuer and audience must be set"))
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	claims := Claims{
		TenantID: req.Tenant,
		Roles:    req.Roles,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   req.Subject,
			Issuer:    req.Issuer,
			Audience:  jwt.ClaimStrings{req.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(req.TTL)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}
