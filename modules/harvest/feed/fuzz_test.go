package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzRead reads data with opts and checks the invariants of collect. Every
// Next consumes input, so a reader must end within len(data)+1 steps.
func fuzzRead(t *testing.T, data []byte, opts Options) {
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	got := collectN(t, r, len(data)+2)
	// Text is never silently replaced: U+FFFD in a value must come from
	// the feed itself (as bytes, an escape or an entity), or from an
	// encoding the feed declares.
	lower := bytes.ToLower(data)
	if bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(lower, []byte("fffd")) ||
		bytes.Contains(lower, []byte("65533")) || bytes.Contains(lower, []byte("encoding")) {
		return
	}
	for _, rec := range got.records {
		for _, f := range rec.Fields {
			if strings.ContainsRune(f.Value, '\uFFFD') || strings.ContainsRune(f.Name, '\uFFFD') {
				t.Fatalf("record %d: field %q=%q holds U+FFFD the feed does not", rec.Row, f.Name, f.Value)
			}
		}
	}
}

// fuzzLimit keeps the record bound small so fuzzing reaches it; the field
// and depth bounds are small for the same reason.
const (
	fuzzLimit = 4 << 10
	fuzzField = 256
	fuzzDepth = 4
)

func addSeeds(f *testing.F, files ...string) {
	f.Helper()
	for _, name := range files {
		f.Add(readFile(f, name))
	}
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, "good.csv", "semicolon.csv", "bom.csv", "wrong_field_count.csv", "bare_quote.csv",
		"truncated_quote.csv", "empty.csv", "no_names.csv")
	// Two feeds (keysDecideFields splits at NUL): the same values split
	// two ways, under the same header and under another.
	f.Add([]byte("a,b,c\n\"x,y\",z,w\n\x00a,b,c\nx,\"y,z\",w\n\x00a,c,b\nx,\"y,z\",w\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Format: CSV, MaxRecordBytes: fuzzLimit, MaxFieldBytes: fuzzField, MaxDepth: fuzzDepth}
		fuzzRead(t, data, opts)
		splitMatchesNext(t, data, opts)
		keysDecideFields(t, opts, bytes.Split(data, []byte{0})...)
	})
}

// keysDecideFields reads each feed by NextRaw, RawKey and Finish, and
// fails when two records of them with equal text keys (text and context)
// finish to different Fields: a stored product would be taken for
// unchanged by a record that makes another.
func keysDecideFields(t *testing.T, opts Options, feeds ...[]byte) {
	t.Helper()
	made := map[string]string{}
	for _, data := range feeds {
		keyedRecords(data, opts, func(key, fields string, refused bool) {
			if refused {
				return // never stored
			}
			if was, ok := made[key]; ok && was != fields {
				t.Fatalf("records with the text key %s finish to %s and to %s", key, was, fields)
			}
			made[key] = fields
		})
	}
}

// splitMatchesNext reads data twice, by Next and by NextRaw then Finish
// with one Finisher on another goroutine, and fails unless both give the
// same records and errors in the same order.
func splitMatchesNext(t *testing.T, data []byte, opts Options) {
	t.Helper()
	a, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := b.(Splitter)
	if !ok {
		t.Fatalf("%T is no Splitter", b)
	}
	var f Finisher
	finish := make(chan RawRecord)
	done := make(chan struct {
		rec Record
		err error
	})
	go func() {
		for raw := range finish {
			rec, err := sp.Finish(raw, &f)
			rec.Fields = slices.Clone(rec.Fields) // f's until its next Finish
			done <- struct {
				rec Record
				err error
			}{rec, err}
		}
	}()
	defer close(finish)
	for step := 0; step < len(data)+2; step++ {
		want, wantErr := a.Next()
		got, gotErr := Record{}, error(nil)
		raw, err := sp.NextRaw()
		if err == nil {
			finish <- raw
			r := <-done
			got, gotErr = r.rec, r.err
		} else {
			gotErr = err
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || got.Row != want.Row || got.Raw != want.Raw || !slices.Equal(got.Fields, want.Fields) {
			t.Fatalf("step %d: split read %+v, %v; Next read %+v, %v", step, got, gotErr, want, wantErr)
		}
		if _, bad := errors.AsType[*RecordError](wantErr); wantErr != nil && !bad {
			return // final
		}
	}
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
		opts := Options{Format: JSON, RecordPath: path, MaxRecordBytes: fuzzLimit, MaxFieldBytes: fuzzField, MaxDepth: fuzzDepth}
		fuzzRead(t, data, opts)
		splitMatchesNext(t, data, opts)
		keysDecideFields(t, opts, bytes.Split(data, []byte{0})...)
	})
}

func FuzzJSONL(f *testing.F) {
	addSeeds(f, "good.jsonl", "bad_line.jsonl", "good.json", "nested.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Format: JSONL, MaxRecordBytes: fuzzLimit, MaxFieldBytes: fuzzField, MaxDepth: fuzzDepth}
		fuzzRead(t, data, opts)
		splitMatchesNext(t, data, opts)
		keysDecideFields(t, opts, bytes.Split(data, []byte{0})...)
	})
}

func FuzzXML(f *testing.F) {
	for _, s := range []struct{ file, path string }{
		{"good.xml", ""}, {"truncated.xml", ""}, {"mismatched.xml", ""}, {"offers.yml", ""},
		{"good.xml", "catalog.items.item"}, {"good.xml", "catalog.items.group.item"},
	} {
		f.Add(readFile(f, s.file), s.path)
	}
	f.Add([]byte("<a><item x='"+strings.Repeat("v", 300)+"'><![CDATA["+strings.Repeat("]", 300)+"]]><!--"+
		strings.Repeat("-x", 200)+"--><b>caf\xe9 &amp;&amp;"+strings.Repeat("w", 300)+"</b></item></a>"), "")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		opts := Options{Format: XML, RecordElement: "item", RecordPath: path, MaxRecordBytes: fuzzLimit, MaxFieldBytes: fuzzField, MaxDepth: fuzzDepth}
		if _, _, err := xmlRecord(opts); err != nil {
			return // an invalid path; TestXMLRecordPathOptions covers those
		}
		fuzzRead(t, data, opts)
		keysDecideFields(t, opts, bytes.Split(data, []byte{0})...)
	})
}

func FuzzYML(f *testing.F) {
	addSeeds(f, "offers.yml", "broken_tree.yml", "truncated.yml", "good.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Format: YML, MaxRecordBytes: fuzzLimit, MaxFieldBytes: fuzzField, MaxDepth: fuzzDepth}
		fuzzRead(t, data, opts)
		keysDecideFields(t, opts, bytes.Split(data, []byte{0})...)
	})
}

// FuzzFlattenStrict: whatever the flattener flattens is JSON, as
// json.Valid has it (the JSONL reader trusts it to be). The seeds are
// near misses of the grammar, each of which it must refuse.
func FuzzFlattenStrict(f *testing.F) {
	for _, s := range flattenNearMisses {
		f.Add(s)
	}
	f.Add(`{"a":[1,-0.5e+3,"x\u00e9",true,null,{"b":{}}],"c":""}`)
	f.Fuzz(func(t *testing.T, s string) {
		flat := newFlattener("jsonl", Options{MaxDepth: fuzzDepth, MaxFieldBytes: fuzzField})
		if _, err := flat.flatten(s); err == nil && !json.Valid([]byte(s)) {
			t.Fatalf("flattened %q, which is not JSON", s)
		}
	})
}

// flattenNearMisses are texts that are not JSON, but nearly.
var flattenNearMisses = []string{
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":-}`, `{"a":1e}`, `{"a":1e+}`, `{"a":1.2.3}`, `{"a":--1}`,
	`{"a":0x10}`, `{"a":1-2}`, "{\"a\":\"tab\there\"}", "{\"a\":\"new\nline\"}", `{"a":"bad \x escape"}`,
	`{"a":1} x`, `{"a":1}}`, `{"a":1},`, `{"a":truex}`, `{"a":nul}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`,
	`{"a":'x'}`, `{"a":1`, `{"a":"x`, `"\u12"`,
}

func TestFlattenRefusesNearMisses(t *testing.T) {
	for _, s := range flattenNearMisses {
		if json.Valid([]byte(s)) {
			t.Fatalf("%q is JSON: not a near miss", s)
		}
		flat := newFlattener("jsonl", Options{})
		if fields, err := flat.flatten(s); err == nil {
			t.Errorf("flattened %q into %v", s, fields)
		}
	}
}

// FuzzUnquote holds unquote to encoding/json: the same text for a string
// it decodes, and a refusal for one it refuses. A lone surrogate escape,
// which encoding/json turns into U+FFFD, is reported.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\u00E9`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`,
		`\ud83d\u0041`, `\ud83dx`, `\u12`, `\x`, `end\`, `\uD83D\uDE00\uFFFD`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		for i := 0; i < len(text); i++ { // what flattener.str passes
			switch c := text[i]; {
			case c == '\\':
				i++
			case c == '"' || c < 0x20:
				return
			}
		}
		got, ok, lone := unquote(text)
		var want string
		err := json.Unmarshal([]byte(`"`+text+`"`), &want)
		switch {
		case !ok && err == nil:
			t.Fatalf("unquote refused %q, which encoding/json reads as %q", text, want)
		case ok && err != nil:
			t.Fatalf("unquote read %q as %q, where encoding/json says %v", text, got, err)
		case ok && got != want:
			t.Fatalf("unquote read %q as %q, encoding/json as %q", text, got, want)
		case lone && !strings.ContainsRune(want, utf8.RuneError):
			t.Fatalf("unquote saw a lone surrogate in %q, which encoding/json reads as %q", text, want)
		}
	})
}
