package localpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CreateDatabase creates database name, owned by the superuser. A database
// that already exists is not an error.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("localpg: create database %q: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !isDuplicateDatabase(err) {
		return fmt.Errorf("localpg: create database %q: %w", name, err)
	}
	return nil
}

// isDuplicateDatabase reports whether err says the database exists. Two
// concurrent CREATE DATABASE of one name can also collide on the catalog's
// unique index instead of the friendlier duplicate_database.
func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "42P04" || // duplicate_database
		(pgErr.Code == "23505" && strings.Contains(pgErr.ConstraintName, "pg_database_datname"))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is not reserved: whoever uses it must cope with losing a race.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: find a free port on 127.0.0.1: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("localpg: find a free port on 127.0.0.1: %w", err)
	}
	return port, nil
}
