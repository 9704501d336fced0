package release

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// startScript starts "$@" in release $2 under base $1 as the supervised
// process: its own session (setsid, so pid = process group), output to
// run/<release>.log, pid and release in run/app.pid. The script is
// constant; values arrive as arguments, never spliced into it.
const startScript = `set -eu
base=$1; rel=$2; shift 2
mkdir -p "$base/run"
cd "$base/releases/$rel"
rm -f "$base/run/app.pid.new"
setsid sh -c 'echo "$$" >"$0"; exec "$@"' "$base/run/app.pid.new" "$@" >>"$base/run/$rel.log" 2>&1 </dev/null &
# The child writes its pid once setsid has made it a session of its own:
# only then may this script (and its process group) end.
i=0
while [ ! -s "$base/run/app.pid.new" ]; do
  i=$((i+1)); [ $i -lt 200 ] || { echo "supervised process did not start" >&2; exit 1; }
  sleep 0.05
done
pid=$(cat "$base/run/app.pid.new")
echo "$pid $rel" >"$base/run/app.pid"
rm -f "$base/run/app.pid.new"
echo "$pid"`

// stopScript stops the supervised process group: TERM, up to 10 s, then
// KILL; the pid file goes.
const stopScript = `base=$1; f="$base/run/app.pid"
[ -f "$f" ] || exit 0
read pid rel <"$f" || { rm -f "$f"; exit 0; }
case "$pid" in ''|*[!0-9]*|0|1) rm -f "$f"; exit 0;; esac
` + leaderCheck + `
if [ "$sid" = "$pid" ] && kill -TERM "-$pid" 2>/dev/null; then
  i=0
  while kill -0 "-$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "-$pid" 2>/dev/null || true
fi
rm -f "$f"
echo "$rel"`

// statusScript prints "<pid> <release>" when the supervised process is
// alive.
const statusScript = `f="$1/run/app.pid"
[ -f "$f" ] || exit 0
read pid rel <"$f" || exit 0
case "$pid" in ''|*[!0-9]*|0|1) exit 0;; esac
` + leaderCheck + `
[ "$sid" = "$pid" ] && kill -0 "-$pid" 2>/dev/null && echo "$pid $rel"
true`

// leaderCheck sets sid to the session of process $pid (from /proc): the
// supervised process leads its own session, so a pid file whose pid is
// not a session leader is stale (the pid was reused) and nothing is
// signalled.
const leaderCheck = `sid=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f4)`

// Start starts argv (checked by the caller's policy) in release name with
// env (the complete environment) as the supervised process, after
// stopping any other; it returns the pid.
func (t *Target) Start(ctx context.Context, name string, argv, env []string) (int, error) {
	if err := check(name); err != nil {
		return 0, err
	}
	if _, err := t.Stop(ctx); err != nil {
		return 0, err
	}
	full := append([]string{"sh", "-c", startScript, "sh", t.Base, name}, argv...)
	saved := t.Env
	t.Env = env
	res, err := t.run(ctx, "release.start", nil, full...)
	t.Env = saved
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lastLine(res.Tail)))
	if err != nil {
		return 0, fmt.Errorf("release.start: no pid in %q", res.Tail)
	}
	return pid, nil
}

// Stop stops the supervised process, if any, and returns the release it
// ran ("" when none).
func (t *Target) Stop(ctx context.Context) (string, error) {
	res, err := t.run(ctx, "release.stop", nil, "sh", "-c", stopScript, "sh", t.Base)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Tail), nil
}

// Running returns the supervised process's pid and release, or
// ErrNotRunning.
func (t *Target) Running(ctx context.Context) (int, string, error) {
	res, err := t.run(ctx, "release.status", nil, "sh", "-c", statusScript, "sh", t.Base)
	if err != nil {
		return 0, "", err
	}
	f := strings.Fields(res.Tail)
	if len(f) != 2 {
		return 0, "", ErrNotRunning
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, "", ErrNotRunning
	}
	return pid, f[1], nil
}

// Log returns the tail of release name's log.
func (t *Target) Log(ctx context.Context, name string) (string, error) {
	if err := check(name); err != nil {
		return "", err
	}
	res, err := t.run(ctx, "release.log", nil, "tail", "-c", "2048", path.Join(t.Base, "run", name+".log"))
	return res.Tail, err
}
