package devserver_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"

	"contextworker/internal/dev/devserver"
	"contextworker/internal/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRestartAddsMissingSearchAttributes: a server reusing its state file
// from before a search attribute existed (make run's .data/temporal.db)
// gets it added at start; --search-attribute alone only registers them on
// a new database, and workflows setting it would fail.
func TestRestartAddsMissingSearchAttributes(t *testing.T) {
	testenv.Integration(t)
	exe := filepath.Join(testenv.RepoRoot(t), "bin", "temporal")
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	srv, err := devserver.Start(ctx, devserver.Options{Exe: exe, DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().OperatorService().RemoveSearchAttributes(ctx, &operatorservice.RemoveSearchAttributesRequest{
		Namespace: srv.Namespace, SearchAttributes: []string{"Source"},
	}); err != nil {
		t.Fatalf("remove Source (to play a state file from before it existed): %v", err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	srv, err = devserver.Start(ctx, devserver.Options{Exe: exe, DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	sas, err := srv.Client().OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sas.GetCustomAttributes()["Source"]; !ok {
		t.Fatalf("after a restart on the same state file, Source is missing: %v", sas.GetCustomAttributes())
	}
}
