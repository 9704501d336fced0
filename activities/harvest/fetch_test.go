package harvest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

// TestFileFeedsStayInTheirRoot: file:// feeds are read only below
// network.file_root, and a symlink below it that leads out is refused.
func TestFileFeedsStayInTheirRoot(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "feeds")
	outside := filepath.Join(dir, "secret.csv")
	for path, body := range map[string]string{filepath.Join(root, "ok.csv"): "sku\nA\n", outside: "not for feeds\n"} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(Network{AllowFiles: true, FileRoot: root}, time.Second, 1<<20)
	for _, tc := range []struct {
		name, path, wantType, wantMsg string
	}{
		{"a file below the root", filepath.Join(root, "ok.csv"), "", ""},
		{"a path outside the root", outside, ErrTypeFeedRefused, "outside network.file_root"},
		{"dot-dot out of the root", root + "/../secret.csv", ErrTypeFeedRefused, "outside network.file_root"},
		{"a symlink out of the root", filepath.Join(root, "link.csv"), ErrTypeFeedRefused, "leads outside"},
		{"a symlinked directory out of the root", filepath.Join(root, "up", "secret.csv"), ErrTypeFeedRefused, "leads outside"},
		{"a missing file", filepath.Join(root, "nope.csv"), ErrTypeFeedBroken, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.open(context.Background(), (&url.URL{Scheme: "file", Path: tc.path}).String(), nil, nil)
			if tc.wantType == "" {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				got.Body.Close()
				return
			}
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != tc.wantType || !strings.Contains(appErr.Error(), tc.wantMsg) {
				t.Fatalf("open = %v, want %s: %s", err, tc.wantType, tc.wantMsg)
			}
		})
	}

	t.Run("allow_files without file_root is a config error", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Network.AllowFiles = true
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "network.file_root: required") {
			t.Fatalf("Validate() = %v, want network.file_root required", err)
		}
	})
}

// TestHTTPFeedsObeyTheNetworkPolicy: a feed on a loopback address is
// refused for good unless network.allow_loopback admits it.
func TestHTTPFeedsObeyTheNetworkPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		io.WriteString(w, "sku\nA\n")
	}))
	t.Cleanup(srv.Close)
	_, err := newFetcher(Network{}, time.Second, 1<<20).open(context.Background(), srv.URL+"/feed.csv", nil, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeFeedRefused || !appErr.NonRetryable() || !strings.Contains(err.Error(), "allow_loopback") {
		t.Fatalf("default policy: %v, want a non-retryable %s naming network.allow_loopback", err, ErrTypeFeedRefused)
	}
	got, err := newFetcher(Network{AllowLoopback: true}, time.Second, 1<<20).open(context.Background(), srv.URL+"/feed.csv", nil, nil)
	if err != nil {
		t.Fatalf("allow_loopback: %v", err)
	}
	got.Body.Close()
}
