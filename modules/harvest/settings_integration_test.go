package harvest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	wf "contextworker/workflows/harvest"
)

// settingsSuppliers configures one supplier per feed setting. Their URL is
// a placeholder: each run gives its feed_url, which keeps every other
// setting of the supplier.
const settingsSuppliers = `suppliers:
  - {code: latin, tenant: acme, feed: {url: "http://127.0.0.1:1/x", format: csv, encoding: windows-1252}}
  - {code: utf8only, tenant: acme, feed: {url: "http://127.0.0.1:1/x", format: csv}}
  - {code: pathed, tenant: acme, feed: {url: "http://127.0.0.1:1/x", format: xml, record_path: catalog.products.product}}
  - {code: zipped, tenant: acme, feed: {url: "http://127.0.0.1:1/x", format: csv, gzip: true}}
`

// TestSupplierFeedSettings: encoding, record_path and gzip, set on a
// supplier, reach the plan and the feed reader.
func TestSupplierFeedSettings(t *testing.T) {
	s := newStack(t, "batch_size: 100\n"+settingsSuppliers)
	mux := http.NewServeMux()
	feeds := map[string][]byte{}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, ok := feeds[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// Never a gzip Content-Type or Content-Encoding, whatever the bytes.
		w.Header().Set("Content-Type", "text/csv")
		w.Write(body)
	})
	srv := faultyServer(t, mux)

	// "ünïcödé" in windows-1252: single bytes above 0x7f, not UTF-8.
	latin := []byte(header + "L-1,\xfcn\xefc\xf6d\xe9,Acme,,1.00,EUR,1,Tools,https://shop.example/l1,\n" + goodRow(2, "2.00"))
	feeds["/latin.csv"] = latin
	xml := `<?xml version="1.0" encoding="UTF-8"?>
<catalog>
  <products>
    <product><sku>X-1</sku><name>One</name><price>1.00</price><currency>EUR</currency></product>
    <product><sku>X-2</sku><name>Two</name><price>2.00</price><currency>EUR</currency>
      <related><product><sku>X-DECOY</sku><name>Decoy</name><price>9.00</price><currency>EUR</currency></product></related>
    </product>
  </products>
  <archive><product><sku>X-OLD</sku><name>Old</name><price>3.00</price><currency>EUR</currency></product></archive>
</catalog>`
	feeds["/catalog.xml"] = []byte(xml)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(header + goodRow(1, "1.00") + goodRow(2, "2.00") + goodRow(3, "3.00")))
	zw.Close()
	feeds["/zipped.csv"] = zipped.Bytes()
	feeds["/plain.csv"] = []byte(header + goodRow(1, "1.00"))

	names := func(t *testing.T, supplier string) map[string]string {
		t.Helper()
		rows, err := s.db.Query(context.Background(), `SELECT sku, name FROM products WHERE tenant_id = 'acme' AND supplier_code = $1`, supplier)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var sku, name string
			if err := rows.Scan(&sku, &name); err != nil {
				t.Fatal(err)
			}
			out[sku] = name
		}
		return out
	}

	t.Run("encoding: windows-1252 decodes latin-1", func(t *testing.T) {
		rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "latin", FeedURL: srv.URL + "/latin.csv"})
		if err != nil || rep.Inserted != 2 || rep.Rejected != 0 {
			t.Fatalf("harvest = %+v, %v; want 2 inserted", rep, err)
		}
		if got := names(t, "latin")["L-1"]; got != "ünïcödé" {
			t.Fatalf("name of L-1 = %q, want %q", got, "ünïcödé")
		}
	})

	t.Run("no encoding: latin-1 rows are rejected, never stored as U+FFFD", func(t *testing.T) {
		rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "utf8only", FeedURL: srv.URL + "/latin.csv"})
		if err != nil || rep.Inserted != 1 || rep.Rejected != 1 {
			t.Fatalf("harvest = %+v, %v; want 1 inserted, 1 rejected", rep, err)
		}
		var reason string
		if err := s.db.QueryRow(context.Background(), `SELECT reason FROM harvest_rejects WHERE run_id = $1 AND row_no = 1`, rep.RunID).Scan(&reason); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reason, "invalid UTF-8") || !strings.Contains(reason, "encoding") {
			t.Fatalf("reject reason %q should say invalid UTF-8 and point at the encoding setting", reason)
		}
		var replaced int
		if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM products WHERE supplier_code = 'utf8only' AND (name LIKE '%' || chr(65533) || '%')`).Scan(&replaced); err != nil || replaced != 0 {
			t.Fatalf("%d products hold U+FFFD (%v)", replaced, err)
		}
	})

	t.Run("record_path picks records by their place in the tree", func(t *testing.T) {
		rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "pathed", FeedURL: srv.URL + "/catalog.xml"})
		if err != nil || rep.Inserted != 2 {
			t.Fatalf("harvest = %+v, %v; want 2 inserted", rep, err)
		}
		got := names(t, "pathed")
		if len(got) != 2 || got["X-1"] != "One" || got["X-2"] != "Two" {
			t.Fatalf("products = %v, want only X-1 and X-2 (not the decoy or the archive)", got)
		}
	})

	t.Run("gzip: true reads a gzip feed served as text/csv", func(t *testing.T) {
		rep, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "zipped", FeedURL: srv.URL + "/zipped.csv"})
		if err != nil || rep.Inserted != 3 {
			t.Fatalf("harvest = %+v, %v; want 3 inserted", rep, err)
		}
	})

	t.Run("gzip: true refuses a feed that is not gzip", func(t *testing.T) {
		_, err := s.harvest(wf.Input{TenantID: "acme", SupplierCode: "zipped", FeedURL: srv.URL + "/plain.csv", Force: true})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != "FeedBroken" || !strings.Contains(appErr.Error(), "not gzip") {
			t.Fatalf("harvest error = %v, want FeedBroken: not gzip", err)
		}
	})
}
