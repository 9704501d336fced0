package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"contextworker/modules/ingest/docgen"
)

// BenchmarkProcess scores and admits 2000 generated 2 KB documents in
// sub-batches of 100 on a real database, without Temporal: the activities'
// own cost per document.
//
//	go test -run - -bench Process -benchtime 1x ./activities/ingest/
func BenchmarkProcess(b *testing.B) {
	const n = 2000
	var buf bytes.Buffer
	if err := docgen.New(3).WriteJSONL(&buf, n, 2048); err != nil {
		b.Fatal(err)
	}
	var docs []doc
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		var r docgen.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			b.Fatal(err)
		}
		docs = append(docs, doc{item: fmt.Sprint(i), source: r.Source, body: []byte(r.Text)})
	}
	db := newTestDB(b)
	a := newTestActivities(b, db)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i += 100 {
		if _, err := a.process(context.Background(), submission{tenant: "bench", workflowID: "w", submitter: "x"}, docs[i:i+100]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "docs/s")
}
