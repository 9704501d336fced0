package harvest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	wf "contextworker/workflows/harvest"
)

// TestXLSXFeedEndToEnd: an XLSX workbook served over HTTP is harvested like
// any feed: numbers typed as numbers, a bad row rejected with its reason.
func TestXLSXFeedEndToEnd(t *testing.T) {
	s := newStack(t, "batch_size: 100\n")
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{{"sku", "name", "brand", "price", "currency", "stock", "url"}}
	for i := 1; i <= 20; i++ {
		rows = append(rows, []any{fmt.Sprintf("X-%02d", i), fmt.Sprintf("Workbook item %d", i), "Acme", 2.5 + float64(i), "EUR", i, fmt.Sprintf("https://shop.example/x/%d", i)})
	}
	rows = append(rows, []any{"X-BAD", "No price", "Acme", "n/a", "EUR", 1, "https://shop.example/x/bad"})
	for r, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(filepath.Join(s.feeds, "feed.xlsx")); err != nil {
		t.Fatal(err)
	}
	rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "xl", FeedURL: s.server.URL + "/feed.xlsx", Format: "xlsx"})
	if err != nil || rep.Status != wf.StatusSucceeded || rep.Inserted != 20 || rep.Rejected != 1 {
		t.Fatalf("harvest = %+v, %v; want 20 inserted, 1 rejected", rep, err)
	}
	var price, reason string
	if err := s.db.QueryRow(context.Background(), `SELECT price::text FROM products WHERE tenant_id = 'acme' AND supplier_code = 'xl' AND sku = 'X-03'`).Scan(&price); err != nil || price != "5.5000" {
		t.Fatalf("X-03 price = %q, %v; want 5.5000", price, err)
	}
	if err := s.db.QueryRow(context.Background(), `SELECT reason FROM harvest_rejects WHERE run_id = $1 AND sku = 'X-BAD'`, rep.RunID).Scan(&reason); err != nil ||
		!strings.HasPrefix(reason, "price:") {
		t.Fatalf("reject of X-BAD = %q, %v; want a price reason", reason, err)
	}
}
