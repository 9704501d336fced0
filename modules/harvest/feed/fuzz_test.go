package feed

import (
	"bytes"
	"testing"
)

// fuzzRead reads data with opts and checks the invariants of collect. Every
// Next consumes input, so a reader must end within len(data)+1 steps.
func fuzzRead(t *testing.T, data []byte, opts Options) {
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	collectN(t, r, len(data)+2)
}

// fuzzLimit keeps the record bound small so fuzzing reaches it.
const fuzzLimit = 4 << 10

func addSeeds(f *testing.F, files ...string) {
	f.Helper()
	for _, name := range files {
		f.Add(readFile(f, name))
	}
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, "good.csv", "semicolon.csv", "bom.csv", "wrong_field_count.csv", "bare_quote.csv",
		"truncated_quote.csv", "empty.csv", "no_names.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Options{Format: CSV, MaxRecordBytes: fuzzLimit})
	})
}

func FuzzJSON(f *testing.F) {
	for _, s := range []struct{ file, path string }{
		{"good.json", ""}, {"nested.json", "products"}, {"nested.json", "meta.tags"}, {"truncated.json", ""},
		{"truncated_after.json", ""}, {"truncated_object.json", "products"}, {"not_array.json", ""},
		{"mixed.json", ""}, {"invalid.json", ""}, {"trailing.json", ""}, {"empty_array.json", ""},
	} {
		f.Add(readFile(f, s.file), s.path)
	}
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		fuzzRead(t, data, Options{Format: JSON, RecordPath: path, MaxRecordBytes: fuzzLimit})
	})
}

func FuzzJSONL(f *testing.F) {
	addSeeds(f, "good.jsonl", "bad_line.jsonl", "good.json", "nested.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Options{Format: JSONL, MaxRecordBytes: fuzzLimit})
	})
}

func FuzzXML(f *testing.F) {
	addSeeds(f, "good.xml", "truncated.xml", "mismatched.xml", "offers.yml")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Options{Format: XML, RecordElement: "item", MaxRecordBytes: fuzzLimit})
	})
}

func FuzzYML(f *testing.F) {
	addSeeds(f, "offers.yml", "broken_tree.yml", "truncated.yml", "good.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Options{Format: YML, MaxRecordBytes: fuzzLimit})
	})
}
