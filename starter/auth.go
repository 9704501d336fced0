package starter

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"contextworker/internal/config"
	"contextworker/internal/ident"
)

// Roles, in increasing power. Each includes the ones below it.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// role is a permission level; a route needs at least one.
type role int

const (
	public role = iota // no token needed
	viewer
	operator
	admin
)

var roleLevels = map[string]role{RoleViewer: viewer, RoleOperator: operator, RoleAdmin: admin}

func (r role) String() string {
	for name, lvl := range roleLevels {
		if lvl == r {
			return name
		}
	}
	return "public"
}

// maxTokenBytes bounds the Authorization header we are willing to parse;
// real tokens are a few hundred bytes.
const maxTokenBytes = 8 << 10

// Claims are the token claims the starter reads.
type Claims struct {
	TenantID string   `json:"tenant_id"`
	Roles    []string `json:"roles,omitempty"`
	jwt.RegisteredClaims
}

// Validate checks the claims beyond the registered ones; the jwt parser
// calls it after verifying the signature and times.
func (c Claims) Validate() error {
	var errs []error
	if c.Subject == "" {
		errs = append(errs, errors.New("sub is missing"))
	}
	// Strict (package ident): tenants end up in workflow ids, where a "/"
	// would break the id scheme, and in visibility queries, where a quote
	// would break out of the string literal.
	if !ident.Valid(c.TenantID) {
		errs = append(errs, errors.New("tenant_id is missing or malformed (want 1-64 letters, digits, '_', '.' or '-')"))
	}
	return errors.Join(errs...)
}

// caller is the authenticated client of a request.
type caller struct {
	Subject string
	Tenant  string
	Role    role
}

// verifier checks bearer tokens.
type verifier struct {
	parser *jwt.Parser
	keys   *KeySet
	// maxLifetime caps exp - iat.
	maxLifetime time.Duration
}

func newVerifier(cfg config.JWT, keys *KeySet, now func() time.Time) (*verifier, error) {
	if keys == nil || len(keys.Methods()) == 0 {
		return nil, errors.New("no JWT keys")
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("starter.jwt.issuer and starter.jwt.audience must be set: tokens are checked against both")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(keys.Methods()),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(now),
	)
	return &verifier{parser: p, keys: keys, maxLifetime: cfg.MaxLifetime}, nil
}

// authenticate returns the caller of r, or a 401 error. It never says more
// than the category of the problem: details help attackers, not clients.
func (v *verifier) authenticate(r *http.Request) (*caller, error) {
	if r.URL.Query().Has("access_token") {
		return nil, unauthenticated("invalid_request", "tokens are not accepted in the query string; send Authorization: Bearer <token>")
	}
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return nil, unauthenticated("", "missing Authorization: Bearer <token> header")
	case len(values) > 1:
		return nil, unauthenticated("invalid_request", "more than one Authorization header")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return nil, unauthenticated("invalid_request", "the Authorization header must be: Bearer <token>")
	}
	if len(token) > maxTokenBytes {
		return nil, unauthenticated("invalid_token", "token is too large")
	}
	var claims Claims
	if _, err := v.parser.ParseWithClaims(token, &claims, v.keys.keyFor); err != nil {
		return nil, unauthenticated("invalid_token", tokenProblem(err)).because(err)
	}
	// A token that lives longer than the operator allows would outlive a
	// key rotation; without iat its lifetime is unknown.
	if claims.IssuedAt == nil {
		return nil, unauthenticated("invalid_token", "token lacks a required claim")
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > v.maxLifetime {
		return nil, unauthenticated("invalid_token", fmt.Sprintf("token lifetime (exp - iat) is over the maximum of %s", v.maxLifetime))
	}
	c := &caller{Subject: claims.Subject, Tenant: claims.TenantID}
	for _, name := range claims.Roles {
		c.Role = max(c.Role, roleLevels[name]) // unknown roles grant nothing
	}
	return c, nil
}

// tokenProblem says what kind of problem a token has, without details.
func tokenProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token is expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token issuer or audience is not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return "token claims are invalid"
	}
	return "token is invalid"
}

// authorize checks that c may use a route that needs at least need.
func authorize(c *caller, need role) error {
	if c.Role >= need {
		return nil
	}
	e := newError(http.StatusForbidden, codeForbidden, "this needs the %s role", need)
	return e.withHeader("WWW-Authenticate", `Bearer realm="contextworker", error="insufficient_scope"`)
}

// unauthenticated is a 401 with the RFC 6750 challenge.
func unauthenticated(errCode, message string) *apiError {
	challenge := `Bearer realm="contextworker"`
	if errCode != "" {
		challenge += fmt.Sprintf(", error=%q", errCode)
	}
	return newError(http.StatusUnauthorized, codeUnauthenticated, "%s", message).withHeader("WWW-Authenticate", challenge)
}
