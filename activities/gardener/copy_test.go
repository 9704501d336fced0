package gardener

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"contextworker/internal/dev/stacktest"
	"contextworker/internal/dev/testenv"
	wf "contextworker/workflows/gardener"
)

// TestWriteCopiesNewFieldsExactly writes new fields through the binary
// COPY stream and reads them back as stored; the same fields again
// conflict, go through the upsert instead, and write nothing; a NULL value
// is refused.
func TestWriteCopiesNewFieldsExactly(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	db := stacktest.DB(t, testenv.Postgres(t))
	plan := wf.Plan{RunID: "run-ü", TenantID: "tenant \"q\""}
	fs := []field{
		{supplier: "s", sku: "1", name: "brand", value: json.RawMessage(`{"key": "bosch", "name": "Bosch"}`), enricher: "brand", version: "1+abc"},
		{supplier: "s", sku: "1", name: "attributes.size", value: json.RawMessage(`"10\" \\ x\ty"`), enricher: "attributes", version: "2"},
		{supplier: "s", sku: "ü\\2", name: "quality.missing_image", value: json.RawMessage(`true`), enricher: "quality", version: ""},
		{supplier: "", sku: "", name: "n", value: json.RawMessage(`[1, 2.5, null, {"a": "Wüsthof 🔨"}]`), enricher: "e", version: "v"},
	}
	write := func(fs []field) (int64, error) {
		var n int64
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var err error
			n, _, err = write(ctx, tx, plan, delta{inserts: fs})
			return err
		})
		return n, err
	}
	if n, err := write(fs); err != nil || n != int64(len(fs)) {
		t.Fatalf("first write: %d rows, %v; want %d", n, err, len(fs))
	}
	for _, f := range fs {
		var value json.RawMessage
		var enricher, version, runID string
		err := db.QueryRow(ctx, `SELECT value, enricher, enricher_version, run_id FROM enrichments
			WHERE tenant_id = $1 AND supplier_code = $2 AND sku = $3 AND field = $4`, plan.TenantID, f.supplier, f.sku, f.name).Scan(
			&value, &enricher, &version, &runID)
		if err != nil {
			t.Fatalf("%s/%s %s: %v", f.supplier, f.sku, f.name, err)
		}
		if !jsonEqual(value, f.value) || enricher != f.enricher || version != f.version || runID != plan.RunID {
			t.Errorf("%s/%s %s = %s by %s %s in %s; want %s by %s %s in %s", f.supplier, f.sku, f.name,
				value, enricher, version, runID, f.value, f.enricher, f.version, plan.RunID)
		}
	}
	if n, err := write(fs); err != nil || n != 0 {
		t.Fatalf("second write of the same fields: %d rows, %v; want 0 through the upsert", n, err)
	}
	// Many rows: the stream is encoded a few rows at a time.
	var many []field
	for i := range 5000 {
		many = append(many, field{supplier: "m", sku: fmt.Sprintf("%05d", i), name: "n", value: json.RawMessage(fmt.Sprintf(`{"i": %d, "pad": "%0100d"}`, i, i)), enricher: "e", version: "1"})
	}
	if n, err := write(many); err != nil || n != int64(len(many)) {
		t.Fatalf("write of %d rows: %d, %v", len(many), n, err)
	}
	var rows, sum int64
	if err := db.QueryRow(ctx, `SELECT count(*), sum((value->>'i')::int8) FROM enrichments WHERE tenant_id = $1 AND supplier_code = 'm'
		AND value->>'pad' = lpad(value->>'i', 100, '0')`, plan.TenantID).Scan(&rows, &sum); err != nil || rows != 5000 || sum != 4999*5000/2 {
		t.Fatalf("stored %d rows summing to %d (%v); want 5000 summing to %d", rows, sum, err, 4999*5000/2)
	}
	if _, err := write([]field{{supplier: "s", sku: "3", name: "x", enricher: "e", version: "1"}}); err == nil {
		t.Fatal("a NULL value was written")
	}
}
