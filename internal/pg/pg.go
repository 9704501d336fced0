// Package pg connects to PostgreSQL and applies the platform's embedded schema
// migrations. It owns no business queries: those live with the activities
// that use them.
package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Connect opens a pool and waits, retrying with backoff for at most timeout,
// until the server answers. The error names the (password-free) target.
func Connect(ctx context.Context, dsn string, maxConns int32, timeout time.Duration, logger *slog.Logger) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can echo the DSN; do not pass them on.
		return nil, errors.New("postgres: the DSN does not parse (check the postgres.dsn secret)")
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	target := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", target, err)
	}
	deadline := time.Now().Add(timeout)
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool, nil
		}
		if ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("postgres: could not reach %s within %s (%d attempts): %w", target, timeout, attempt, redactErr(err, dsn))
		}
		if logger != nil {
			logger.Warn("postgres not reachable yet, retrying", "target", target, "attempt", attempt, "error", redactErr(err, dsn).Error())
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// redactErr makes sure a connection error does not carry the password.
func redactErr(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg := err.Error()
		if strings.Contains(msg, pw) {
			return errors.New(strings.ReplaceAll(msg, pw, "****"))
		}
	}
	return err
}
