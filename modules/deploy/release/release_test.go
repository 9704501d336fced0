package release_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"contextworker/internal/dev/sshd"
	"contextworker/modules/deploy/release"
	"contextworker/modules/deploy/remote"
)

var env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"}

func targets(t *testing.T) map[string]*release.Target {
	t.Helper()
	out := map[string]*release.Target{"local": {Runner: remote.Local{}, Base: t.TempDir(), Env: env, Timeout: time.Minute}}
	if testing.Short() {
		return out
	}
	srv := sshd.Start(t)
	r, err := remote.NewSSH(remote.SSHConfig{Addr: srv.Addr, User: srv.User, KnownHosts: srv.KnownHosts, PrivateKey: srv.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	out["ssh"] = &release.Target{Runner: r, Base: t.TempDir(), Env: env, Timeout: time.Minute}
	return out
}

// app writes a source tree whose server answers /health with body.
func app(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b%q)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`, body)
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(port int) (string, error) {
	var last error
	for range 100 {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b), nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return "", last
}

func TestReleaseLifecycle(t *testing.T) {
	for name, tg := range targets(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			port := freePort(t)
			appEnv := append(slices.Clone(env), fmt.Sprintf("PORT=%d", port))
			t.Cleanup(func() { _, _ = tg.Stop(context.Background()) })
			var names []string
			for i, body := range []string{"one", "two", "three"} {
				n := release.Name("1.0."+fmt.Sprint(i), time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC))
				names = append(names, n)
				created, err := tg.Prepare(ctx, n, release.Tarball(app(t, body), 1<<20))
				if err != nil || !created {
					t.Fatalf("prepare %s: %v %v", n, created, err)
				}
				if again, err := tg.Prepare(ctx, n, release.Tarball(app(t, "other"), 1<<20)); err != nil || again {
					t.Fatalf("prepare is not idempotent: %v %v", again, err)
				}
				if _, err := os.Stat(filepath.Join(tg.Dir(n), ".git")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf(".git shipped in the release: %v", err)
				}
				prev, err := tg.Switch(ctx, n)
				if err != nil || (i > 0 && prev != names[i-1]) {
					t.Fatalf("switch: prev %q %v", prev, err)
				}
				if _, err := tg.Start(ctx, n, []string{"python3", "app.py"}, appEnv); err != nil {
					t.Fatal(err)
				}
				if got, err := get(port); got != body {
					log, _ := tg.Log(ctx, n)
					t.Fatalf("log %q; release %s answers %q %v, want %q", log, n, got, err, body)
				}
				pid, rel, err := tg.Running(ctx)
				if err != nil || rel != n || pid <= 1 {
					t.Errorf("running = %d %q %v", pid, rel, err)
				}
			}
			if cur, err := tg.Current(ctx); err != nil || cur != names[2] {
				t.Errorf("current = %q %v", cur, err)
			}
			removed, err := tg.Prune(ctx, 1, names[0])
			if err != nil || !slices.Equal(removed, names[1:2]) {
				t.Errorf("prune removed %v %v, want %v (the first is protected)", removed, err, names[1:2])
			}
			if rel, err := tg.Stop(ctx); err != nil || rel != names[2] {
				t.Errorf("stop = %q %v", rel, err)
			}
			if _, _, err := tg.Running(ctx); !errors.Is(err, release.ErrNotRunning) {
				t.Errorf("after stop: %v", err)
			}
			if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port)); err == nil {
				t.Error("the app still answers after stop")
			}
			if err := tg.MarkDone(ctx, names[2], "build-0"); err != nil {
				t.Fatal(err)
			}
			if done, err := tg.Done(ctx, names[2], "build-0"); err != nil || !done {
				t.Errorf("done = %v %v", done, err)
			}
			if done, err := tg.Done(ctx, names[2], "test-1"); err != nil || done {
				t.Errorf("unmarked step done = %v %v", done, err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	n := release.Name("1.2.3-rc.1+b5", time.Date(2026, 11, 29, 17, 4, 5, 0, time.UTC))
	if n != "1.2.3-rc.1+b5-20261129T170405Z" || !release.ValidName(n) {
		t.Errorf("Name = %q", n)
	}
	for _, bad := range []string{"", "..-20261129T170405Z", "x", "../x-20261129T170405Z", "a b-20261129T170405Z", "-20261129T170405Z"} {
		if release.ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

func TestTarballBound(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, release.Tarball(dir, 1000))
	if !errors.Is(err, release.ErrTooLarge) || !strings.Contains(err.Error(), "1000") {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}
