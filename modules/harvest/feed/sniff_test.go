package feed

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	csv := readFile(t, "good.csv")
	gz := gzipBytes(t, csv)
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error // from Decompress or from reading
	}{
		{name: "gzip", in: gz, want: csv},
		{name: "plain", in: csv, want: csv},
		{name: "empty", in: nil, want: nil},
		{name: "one byte", in: []byte{0x1f}, want: []byte{0x1f}},
		{name: "truncated gzip", in: gz[:len(gz)/2], wantErr: ErrTruncated},
		{name: "gzip twice", in: gzipBytes(t, gz), want: csv},
		{name: "gzip three times keeps the third layer", in: gzipBytes(t, gzipBytes(t, gz)), want: gz},
		{name: "truncated inner gzip", in: gzipBytes(t, gz[:len(gz)/2]), wantErr: ErrTruncated},
		{name: "bad checksum", in: append(append([]byte{}, gz[:len(gz)-8]...), 0, 0, 0, 0, 0, 0, 0, 0), wantErr: ErrMalformed},
		{name: "bad header", in: []byte("\x1f\x8bnot really gzip"), wantErr: ErrMalformed},
		// A stored block (type 00) whose length and its complement disagree.
		{name: "corrupt deflate data", in: append(append([]byte{}, gz[:10]...), 0x00, 0x05, 0x00, 0x05, 0x00, 'x'), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decompress(bytes.NewReader(tt.in))
			var got []byte
			if err == nil {
				got, err = io.ReadAll(r)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		html bool
	}{
		{name: "page", in: string(readFile(t, "page.html")), html: true},
		{name: "bare html", in: "<html><body>Error</body></html>", html: true},
		{name: "upper case", in: "<!DOCTYPE HTML>\n<HTML>", html: true},
		{name: "bom and spaces", in: utf8BOM + "\r\n\t <html lang=ru>", html: true},
		{name: "xhtml", in: `<?xml version="1.0"?><!-- login --><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN"><html>`, html: true},
		{name: "just the tag", in: "<html", html: true},
		{name: "csv", in: string(readFile(t, "good.csv"))},
		{name: "json", in: `[{"html":"<html>"}]`},
		{name: "xml feed", in: string(readFile(t, "good.xml"))},
		{name: "yml feed", in: string(readFile(t, "offers.yml"))},
		{name: "element named like html", in: "<htmlfeed><item/></htmlfeed>"},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Sniff(strings.NewReader(tt.in))
			if tt.html != errors.Is(err, ErrHTML) {
				t.Fatalf("Sniff error %v, want HTML %v", err, tt.html)
			}
			if !tt.html && err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || string(got) != tt.in {
				t.Errorf("Sniff consumed bytes: read %q, %v", got, err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	csv := readFile(t, "good.csv")
	bigGz := gzipBytes(t, benchFeed(CSV, 5000))
	bigJSONL := gzipBytes(t, benchFeed(JSONL, 5000))
	bigXML := gzipBytes(t, benchFeed(XML, 5000))
	tests := []struct {
		name    string
		in      []byte
		opts    Options
		records int
		wantErr error
	}{
		{name: "gzipped csv", in: gzipBytes(t, csv), opts: Options{Format: CSV}, records: 4},
		{name: "plain csv", in: csv, opts: Options{Format: CSV}, records: 4},
		{name: "gzipped yml", in: gzipBytes(t, readFile(t, "offers.yml")), opts: Options{Format: YML}, records: 3},
		{name: "html page", in: readFile(t, "page.html"), opts: Options{Format: CSV}, wantErr: ErrHTML},
		{name: "gzipped html page", in: gzipBytes(t, readFile(t, "page.html")), opts: Options{Format: XML, RecordElement: "offer"}, wantErr: ErrHTML},
		{name: "truncated gzip", in: gzipBytes(t, csv)[:40], opts: Options{Format: CSV}, wantErr: ErrMalformed},
		{name: "gzip truncated late", in: bigGz[:len(bigGz)/2], opts: Options{Format: CSV}, wantErr: ErrMalformed},
		{name: "gzip truncated late jsonl", in: bigJSONL[:len(bigJSONL)/2], opts: Options{Format: JSONL}, wantErr: ErrMalformed},
		{name: "gzip truncated late xml", in: bigXML[:len(bigXML)/2], opts: Options{Format: XML, RecordElement: "item"}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(tt.in), tt.opts)
			if err != nil {
				if !errors.Is(err, tt.wantErr) || tt.wantErr == nil {
					t.Fatalf("Open: %v, want %v", err, tt.wantErr)
				}
				return
			}
			defer r.Close()
			got := collect(t, r)
			if tt.wantErr != nil {
				if !errors.Is(got.err, tt.wantErr) {
					t.Fatalf("final error %v, want %v", got.err, tt.wantErr)
				}
				return
			}
			if got.err != nil || len(got.records) != tt.records {
				t.Fatalf("%d records, error %v; want %d records", len(got.records), got.err, tt.records)
			}
		})
	}
}
