package testenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"

	"contextworker/internal/dev/testenv"
	"contextworker/internal/searchattr"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// tableCount reports which database dsn reaches and how many user tables it
// holds, then adds one, so that a database handed out twice would show.
func tableCount(t *testing.T, dsn string) (current string, tables int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx,
		`select current_database(), (select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema'))`).
		Scan(&current, &tables)
	if err != nil {
		t.Fatalf("query %s: %v", dsn, err)
	}
	if _, err := conn.Exec(ctx, "create table marker (id int)"); err != nil {
		t.Fatalf("create table in %s: %v", dsn, err)
	}
	return current, tables
}

func TestPostgresGivesFreshDatabases(t *testing.T) {
	t.Parallel()
	first, second := testenv.Postgres(t), testenv.Postgres(t)
	if first == second {
		t.Fatalf("two calls returned the same DSN %s", first)
	}
	db1, n1 := tableCount(t, first)
	db2, n2 := tableCount(t, second)
	if db1 == db2 {
		t.Errorf("both DSNs reach database %s", db1)
	}
	if n1 != 0 || n2 != 0 {
		t.Errorf("fresh databases hold tables: %s has %d, %s has %d", db1, n1, db2, n2)
	}
}

func TestPostgresParallel(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "b", "c", "d"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, n := tableCount(t, testenv.Postgres(t)); n != 0 {
				t.Errorf("fresh database holds %d tables", n)
			}
		})
	}
}

func TestTemporal(t *testing.T) {
	t.Parallel()
	c := testenv.TemporalClient(t)
	_, namespace := testenv.Temporal(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("describe namespace %q: %v", namespace, err)
	}
	if got := ns.GetNamespaceInfo().GetName(); got != namespace {
		t.Errorf("namespace name = %q, want %q", got, namespace)
	}

	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for _, sa := range searchattr.Names {
		name, _, _ := strings.Cut(sa, "=")
		if typ, ok := sas.GetCustomAttributes()[name]; !ok || typ != enums.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("custom search attribute %s = %v (present %v), want Keyword", name, typ, ok)
		}
	}
}
