package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHugePagesReserveRelease(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{hugePagesPath: "16"})
	count := func() int64 {
		n, err := readCount(filepath.Join(root, hugePagesPath))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	h := hugePages{root: root}
	if err := h.release(); err != nil || count() != 16 {
		t.Fatalf("release before reserve: %v, count %d; want nothing changed", err, count())
	}
	got, err := h.reserve(1100)
	if err != nil || got != 1100 || count() != 1116 {
		t.Fatalf("reserve(1100) = %d, %v; count %d; want 1100 more, 1116", got, err, count())
	}
	if err := h.release(); err != nil || count() != 16 {
		t.Fatalf("release: %v, count %d; want 16 again", err, count())
	}
	if err := h.release(); err != nil || count() != 16 {
		t.Fatalf("a second release: %v, count %d; want 16", err, count())
	}

	if _, err := (&hugePages{root: t.TempDir()}).reserve(10); err == nil {
		t.Error("reserve without the kernel's file: no error")
	}
	bad := t.TempDir()
	writeTree(t, bad, map[string]string{hugePagesPath: "many"})
	if _, err := (&hugePages{root: bad}).reserve(10); err == nil {
		t.Error("reserve over a count that is not a number: no error")
	}
	if b, _ := os.ReadFile(filepath.Join(bad, hugePagesPath)); string(b) != "many\n" {
		t.Errorf("a failed reserve wrote %q", b)
	}
}

func TestHugePagesNeeded(t *testing.T) {
	for _, tc := range []struct {
		shown string
		err   error
		want  int64
		ok    bool
	}{
		{"1100", nil, 1100, true},
		{"-1", nil, 0, false}, // PostgreSQL's answer where the kernel has no huge pages
		{"", errors.New("unrecognized configuration parameter"), 0, false},
	} {
		n, err := hugePagesNeeded(context.Background(), func(context.Context, string) (string, error) { return tc.shown, tc.err })
		if n != tc.want || (err == nil) != tc.ok {
			t.Errorf("shown %q, %v: %d, %v; want %d, ok %v", tc.shown, tc.err, n, err, tc.want, tc.ok)
		}
	}
}
