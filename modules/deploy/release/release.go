// Package release lays releases out on a deploy target and supervises the
// running one: releases/<version>-<timestamp> directories, an atomically
// switched `current` link, a supervised process (its own session, a pid
// file the worker reads back), and pruning to the last N. Every operation
// is a fixed argv (or a constant script taking its values as arguments)
// run through a remote.Runner, so it works alike on local and SSH targets
// and is audited like any command. It never runs anything a client or a
// repository wrote, except the start command the caller has checked.
package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"contextworker/modules/deploy/remote"
)

// Target is a target's release area: Base holds releases/, current and
// run/ (pid file, logs, step markers).
type Target struct {
	Runner remote.Runner
	// Base is the absolute base directory on the target.
	Base string
	// Env is the clean environment of the platform's own commands.
	Env []string
	// Timeout bounds each platform command.
	Timeout time.Duration
	// Audit, when set, is told about every command run.
	Audit func(ctx context.Context, step string, c remote.Command, res remote.Result, err error)
}

// nameRE is what a release name may look like.
var nameRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}-\d{8}T\d{6}Z$`)

// Name is the release directory name for version at t.
func Name(version string, t time.Time) string {
	return strings.ReplaceAll(version, "/", "_") + "-" + t.UTC().Format("20060102T150405Z")
}

// ValidName reports whether s is a release name Name could make.
func ValidName(s string) bool { return nameRE.MatchString(s) && !strings.Contains(s, "..") }

// stamp is the time part of a release name, for ordering.
func stamp(name string) string { return name[strings.LastIndex(name, "-")+1:] }

// Dir is the absolute directory of release name.
func (t *Target) Dir(name string) string { return path.Join(t.Base, "releases", name) }

// run runs a platform command and fails on a non-zero exit.
func (t *Target) run(ctx context.Context, step string, stdin io.Reader, argv ...string) (remote.Result, error) {
	c := remote.Command{Argv: argv, Dir: "/", Env: t.Env, Stdin: stdin, Timeout: t.Timeout, MaxOutput: 1 << 20}
	res, err := t.Runner.Run(ctx, c)
	if t.Audit != nil {
		t.Audit(ctx, step, c, res, err)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", step, err)
	}
	if res.ExitCode != 0 {
		return res, fmt.Errorf("%s: %s exited %d: %s", step, argv[0], res.ExitCode, strings.TrimSpace(lastLine(res.Tail)))
	}
	return res, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func check(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("release: %q is not a release name", name)
	}
	return nil
}

// Exists reports whether release name is complete on the target.
func (t *Target) Exists(ctx context.Context, name string) (bool, error) {
	if err := check(name); err != nil {
		return false, err
	}
	res, err := t.run(ctx, "release.exists", nil, "sh", "-c", `test -d "$1" && echo yes || echo no`, "sh", t.Dir(name))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(res.Tail) == "yes", nil
}

// Prepare unpacks tarball (a tar stream of the source) as release name.
// It is idempotent: a complete release is left alone, a partial one (from
// an interrupted attempt) is redone; the release appears under its name
// only once complete (rename).
func (t *Target) Prepare(ctx context.Context, name string, tarball io.Reader) (bool, error) {
	ok, err := t.Exists(ctx, name)
	if err != nil || ok {
		return false, err
	}
	partial := t.Dir(name) + ".partial"
	if _, err := t.run(ctx, "release.prepare", nil, "sh", "-c", `set -e; rm -rf "$1"; mkdir -p "$1" "$2/run" "$2/home"`, "sh", partial, t.Base); err != nil {
		return false, err
	}
	if _, err := t.run(ctx, "release.unpack", tarball, "tar", "-x", "--no-same-owner", "--no-overwrite-dir", "-f", "-", "-C", partial); err != nil {
		return false, err
	}
	if _, err := t.run(ctx, "release.complete", nil, "mv", "-T", partial, t.Dir(name)); err != nil {
		return false, err
	}
	return true, nil
}

// Current returns the release the current link points at, or "".
func (t *Target) Current(ctx context.Context) (string, error) {
	res, err := t.run(ctx, "release.current", nil, "sh", "-c", `readlink "$1" || true`, "sh", path.Join(t.Base, "current"))
	if err != nil {
		return "", err
	}
	cur := path.Base(strings.TrimSpace(res.Tail))
	if cur == "." || cur == "/" || !ValidName(cur) {
		return "", nil
	}
	return cur, nil
}

// Switch points current at release name atomically (a new link renamed
// over the old) and returns the release it pointed at before.
func (t *Target) Switch(ctx context.Context, name string) (string, error) {
	if err := check(name); err != nil {
		return "", err
	}
	prev, err := t.Current(ctx)
	if err != nil {
		return "", err
	}
	if prev == name {
		return "", nil // already switched (a retried attempt)
	}
	_, err = t.run(ctx, "release.switch", nil, "sh", "-c", `set -e; ln -sfn "releases/$2" "$1/current.new"; mv -T "$1/current.new" "$1/current"`, "sh", t.Base, name)
	return prev, err
}

// Unlink removes the current link (rollback of a first deploy).
func (t *Target) Unlink(ctx context.Context) error {
	_, err := t.run(ctx, "release.unlink", nil, "rm", "-f", path.Join(t.Base, "current"))
	return err
}

// List returns the complete releases, oldest first.
func (t *Target) List(ctx context.Context) ([]string, error) {
	res, err := t.run(ctx, "release.list", nil, "sh", "-c", `ls -1 "$1" 2>/dev/null || true`, "sh", path.Join(t.Base, "releases"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(res.Tail, "\n") {
		if l = strings.TrimSpace(l); ValidName(l) {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return stamp(out[i]) < stamp(out[j]) })
	return out, nil
}

// Prune removes all but the newest keep releases, never one in protect.
func (t *Target) Prune(ctx context.Context, keep int, protect ...string) ([]string, error) {
	all, err := t.List(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for i := 0; i < len(all)-keep; i++ {
		if slices.Contains(protect, all[i]) {
			continue
		}
		if _, err := t.run(ctx, "release.prune", nil, "rm", "-rf", "--", t.Dir(all[i]), path.Join(t.Base, "run", all[i])); err != nil {
			return removed, err
		}
		removed = append(removed, all[i])
	}
	return removed, nil
}

// MarkDone records that step of release name succeeded, so a retried
// activity never runs it again; Done reads it back.
func (t *Target) MarkDone(ctx context.Context, name, step string) error {
	if err := check(name); err != nil {
		return err
	}
	_, err := t.run(ctx, "release.mark", nil, "sh", "-c", `set -e; mkdir -p "$1"; : > "$1/$2"`, "sh", path.Join(t.Base, "run", name), "done-"+step)
	return err
}

// Done reports whether step of release name was marked done.
func (t *Target) Done(ctx context.Context, name, step string) (bool, error) {
	if err := check(name); err != nil {
		return false, err
	}
	res, err := t.run(ctx, "release.done", nil, "sh", "-c", `test -e "$1/$2" && echo yes || echo no`, "sh", path.Join(t.Base, "run", name), "done-"+step)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(res.Tail) == "yes", nil
}

// ErrNotRunning is returned by Running when no supervised process runs.
var ErrNotRunning = errors.New("no supervised process")

// WriteFile writes content as run/<release>/<file> (our own metadata
// beside the release, never inside it).
func (t *Target) WriteFile(ctx context.Context, name, file string, content io.Reader) error {
	if err := check(name); err != nil {
		return err
	}
	if strings.ContainsAny(file, "/\\") || file == "" || file[0] == '.' {
		return fmt.Errorf("release: bad file name %q", file)
	}
	_, err := t.run(ctx, "release.write", content, "sh", "-c", `set -e; mkdir -p "$1"; cat > "$1/$2.new"; mv -f "$1/$2.new" "$1/$2"`, "sh", path.Join(t.Base, "run", name), file)
	return err
}

// ReadFile reads run/<release>/<file>, at most remote.TailBytes (it is
// for small metadata such as start.json).
func (t *Target) ReadFile(ctx context.Context, name, file string) ([]byte, error) {
	if err := check(name); err != nil {
		return nil, err
	}
	if strings.ContainsAny(file, "/\\") || file == "" || file[0] == '.' {
		return nil, fmt.Errorf("release: bad file name %q", file)
	}
	res, err := t.run(ctx, "release.read", nil, "head", "-c", strconv.Itoa(remote.TailBytes), path.Join(t.Base, "run", name, file))
	if err != nil {
		return nil, err
	}
	return []byte(res.Tail), nil
}
