package ingest

import (
	"context"
	"strings"
	"testing"

	"contextworker/modules/ingest/embed"
)

// TestFloodAcrossWorkers: two workers (two Activities, one database) see
// each other's documents in the flood detector, whether a recent
// document's embedding is in their cache (their own) or read from the
// database (the other's).
func TestFloodAcrossWorkers(t *testing.T) {
	db := newTestDB(t)
	w1, w2 := newTestActivities(t, db), newTestActivities(t, db)
	ctx := context.Background()
	text := "We show that the pill cures all fatigue because it restores energy [1]. Buy it now.\n\nReferences\n[1] Shop. Report. 2024.\n"
	steps := []struct {
		name   string
		worker *Activities
		word   string
		want   string
	}{
		{"first, worker 1", w1, "now", "admitted"},
		{"second, worker 2 reads the first from the database", w2, "today", "quarantined"},
		{"third, worker 1 has the first cached and reads the second", w1, "here", "quarantined"},
	}
	for i, s := range steps {
		d := doc{item: s.name, source: "spammer", body: []byte(strings.Replace(text, "now", s.word, 1))}
		outs, err := s.worker.process(ctx, submission{tenant: "acme", workflowID: "w" + string(rune('0'+i)), submitter: "x"}, []doc{d})
		if err != nil {
			t.Fatal(err)
		}
		if outs[0].Status != s.want || (s.want == "quarantined" && !strings.Contains(strings.Join(outs[0].Reasons, " "), "near_duplicate_flood")) {
			t.Fatalf("%s: %s %v, want %s (near_duplicate_flood)", s.name, outs[0].Status, outs[0].Reasons, s.want)
		}
	}
	if n := len(w1.recentVecs.m); n != 3 {
		t.Fatalf("worker 1 caches %d embeddings, want 3 (its two and the one it read)", n)
	}
}

// renamedHashing embeds exactly as Hashing does under another name: as
// another model of the same dimension would be, its vectors must not be
// compared with Hashing's (here they would match, which the test needs to
// see the difference).
type renamedHashing struct{ embed.Hashing }

func (renamedHashing) Name() string { return "hashing-renamed" }

// TestFloodComparesOneEmbedder: after a switch of embedder, a source's
// recent documents embedded by the old one are not compared with new ones
// (another model's vectors mean something else, even of one dimension), so
// the first document under the new embedder is admitted; the next
// near-duplicate under it is a flood again.
func TestFloodComparesOneEmbedder(t *testing.T) {
	db := newTestDB(t)
	before, after := newTestActivities(t, db), newTestActivities(t, db)
	after.Embedder = renamedHashing{}
	ctx := context.Background()
	text := "We show that the pill cures all fatigue because it restores energy [1]. Buy it now.\n\nReferences\n[1] Shop. Report. 2024.\n"
	for i, s := range []struct {
		worker *Activities
		word   string
		want   string
	}{
		{before, "now", "admitted"},
		{after, "today", "admitted"},
		{after, "here", "quarantined"},
	} {
		d := doc{item: s.word, source: "spammer", body: []byte(strings.Replace(text, "now", s.word, 1))}
		outs, err := s.worker.process(ctx, submission{tenant: "acme", workflowID: "e" + string(rune('0'+i)), submitter: "x"}, []doc{d})
		if err != nil {
			t.Fatal(err)
		}
		if outs[0].Status != s.want {
			t.Fatalf("document %d (%s): %s %v, want %s", i, s.worker.Embedder.Name(), outs[0].Status, outs[0].Reasons, s.want)
		}
	}
}
