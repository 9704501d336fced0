package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	"contextworker/internal/pg"
)

const insertAudit = `INSERT INTO deploy_audit (tenant_id, workflow_id, target, step, phase, argv) VALUES ('acme', 'deploy/acme/local/x', 'local', 'build', 'finished', '{make}')`

// tamper are the statements an append-only table refuses.
var tamper = map[string]string{
	"update":   `UPDATE deploy_audit SET exit_code = 0`,
	"delete":   `DELETE FROM deploy_audit`,
	"truncate": `TRUNCATE deploy_audit`,
}

// TestAuditAppendOnly proves deploy_audit refuses UPDATE, DELETE and
// TRUNCATE: to the worker's own role (a plain role that ran the migration
// itself, so it owns the table) and, through the trigger, even to a
// superuser.
func TestAuditAppendOnly(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.Postgres(t)
	admin := stacktest.DB(t, dsn)
	ctx := context.Background()

	t.Run("superuser", func(t *testing.T) {
		if _, err := admin.Exec(ctx, insertAudit); err != nil {
			t.Fatal(err)
		}
		for name, sql := range tamper {
			_, err := admin.Exec(ctx, sql)
			if err == nil || !strings.Contains(err.Error(), "deploy_audit is append-only") {
				t.Errorf("%s: %v, want the append-only refusal", name, err)
			}
		}
		var owner string
		if err := admin.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'deploy_audit'`).Scan(&owner); err != nil || owner != "cw_audit_owner" {
			t.Errorf("owner = %q %v, want cw_audit_owner", owner, err)
		}
	})

	t.Run("worker role", func(t *testing.T) {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		role, db := "cw_worker_"+hex.EncodeToString(b), "cw_test_audit_"+hex.EncodeToString(b)
		ident := func(s string) string { return pgx.Identifier{s}.Sanitize() }
		for _, sql := range []string{
			"CREATE ROLE " + ident(role) + " LOGIN PASSWORD 'probe' NOSUPERUSER NOCREATEROLE NOCREATEDB",
			"CREATE DATABASE " + ident(db) + " OWNER " + ident(role),
		} {
			if _, err := admin.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(db)+" WITH (FORCE)")
			_, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident(role))
		})
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Password, cfg.Database = role, "probe", db
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		migs, err := pg.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		applied := false
		for _, m := range migs {
			if strings.HasSuffix(m.Name, "_deploy.sql") {
				if _, err := conn.Exec(ctx, m.SQL); err != nil {
					t.Fatalf("%s as %s: %v", m.Name, role, err)
				}
				applied = true
			}
		}
		if !applied {
			t.Fatal("no deploy migration")
		}
		if _, err := conn.Exec(ctx, insertAudit); err != nil {
			t.Fatalf("the worker role can not append: %v", err)
		}
		for name, sql := range tamper {
			_, err := conn.Exec(ctx, sql)
			if err == nil || !strings.Contains(err.Error(), "permission denied") {
				t.Errorf("%s as the worker role: %v, want permission denied", name, err)
			}
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM deploy_audit`).Scan(&n); err != nil || n != 1 {
			t.Errorf("rows = %d %v, want the one appended", n, err)
		}
	})
}
