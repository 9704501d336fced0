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
	"contextworker/modules/deploy/auditlog"
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

// TestAuditList: the API's reads are tenant-scoped, filter by workflow
// and page by id.
func TestAuditList(t *testing.T) {
	testenv.Integration(t)
	db := stacktest.DB(t, testenv.Postgres(t))
	ctx := context.Background()
	for _, r := range []struct{ tenant, wf string }{
		{"acme", "deploy/acme/local/a"}, {"acme", "deploy/acme/local/b"}, {"other", "deploy/other/local/a"}, {"acme", "deploy/acme/local/a"},
	} {
		if _, err := db.Exec(ctx, `INSERT INTO deploy_audit (tenant_id, workflow_id, target, step, phase, argv, exit_code, requester)
			VALUES ($1, $2, 'local', 'build', 'finished', '{make,build}', 0, 'alice')`, r.tenant, r.wf); err != nil {
			t.Fatal(err)
		}
	}
	all, err := auditlog.List(ctx, db, auditlog.Query{TenantID: "acme"})
	if err != nil || len(all) != 3 {
		t.Fatalf("acme rows: %d %v", len(all), err)
	}
	for _, e := range all {
		if e.TenantID != "acme" || len(e.Argv) != 2 || e.ExitCode == nil || *e.ExitCode != 0 || e.Requester == nil || *e.Requester != "alice" {
			t.Errorf("entry %+v", e)
		}
	}
	one, err := auditlog.List(ctx, db, auditlog.Query{TenantID: "acme", WorkflowID: "deploy/acme/local/a", Limit: 1})
	if err != nil || len(one) != 1 || one[0].WorkflowID != "deploy/acme/local/a" {
		t.Fatalf("page 1: %+v %v", one, err)
	}
	next, err := auditlog.List(ctx, db, auditlog.Query{TenantID: "acme", WorkflowID: "deploy/acme/local/a", AfterID: one[0].ID})
	if err != nil || len(next) != 1 || next[0].ID <= one[0].ID {
		t.Errorf("page 2: %+v %v", next, err)
	}
	if rows, err := auditlog.List(ctx, db, auditlog.Query{TenantID: "acme", WorkflowID: "deploy/other/local/a"}); err != nil || len(rows) != 0 {
		t.Errorf("another tenant's workflow leaked: %+v %v", rows, err)
	}
	for _, bad := range []auditlog.Query{{}, {TenantID: "acme", Limit: auditlog.MaxLimit + 1}, {TenantID: "acme", AfterID: -1}} {
		if _, err := auditlog.List(ctx, db, bad); err == nil {
			t.Errorf("query %+v accepted", bad)
		}
	}
}
