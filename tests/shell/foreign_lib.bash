# Helpers sourced by tests/shell/foreign_*.sh (not a test itself): run the
# wrapper the way a patched ECS task does, from a volume filled by vigil init
# and mounted read-only at /vigil, inside a foreign root filesystem, as PID 1
# of a new PID namespace, with /proc and a minimal /dev like a runtime gives.
. "$(dirname "${BASH_SOURCE[0]}")/init_lib.bash"
need_root
command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) missing"; exit 77; }
if [[ "$("$VIGIL" run -- /bin/true 2>&1 || true)" == *"vigil run: not implemented yet"* ]]; then
  echo "SKIP: vigil run is not implemented yet in this build"
  exit 77
fi
# The task volume, filled by vigil init as the sidecar would; mounted read-only
# at /vigil in the app's root like the app container's mountPoint.
VOLUME=$T/volume; mkdir "$VOLUME"
"$VIGIL" init --source "$ROOTFS" --volume "$VOLUME" || die "vigil init into $VOLUME failed"
export VOLUME LOADER_NAME

# new_root DIR: an empty root with the mount points a runtime would provide.
new_root() { mkdir -p "$1"/proc "$1"/dev "$1"/tmp "$1"/vigil; chmod 1777 "$1/tmp"; }

# vigil_run ROOT APP [ARGS...]: runs APP under `vigil run` inside ROOT; stdout
# to $T/out, stderr to $T/err, events to ROOT/tmp/ev.json. Returns the exit
# status. $PRE_MOUNT, if set, is a shell snippet run first in the namespace.
vigil_run() {
  local root=$1; shift
  ROOT=$root PRE_MOUNT=${PRE_MOUNT:-} unshare -m -p -f --propagation private bash -euc '
    eval "$PRE_MOUNT"
    rm -f "$ROOT/tmp/ev.json"
    mount -t proc proc "$ROOT/proc"
    mount --bind "$VOLUME" "$ROOT/vigil"
    mount -o remount,bind,ro "$ROOT/vigil"
    mount -t tmpfs -o mode=755,size=64k tmpfs "$ROOT/dev"
    for d in null zero full random urandom; do touch "$ROOT/dev/$d"; mount --bind "/dev/$d" "$ROOT/dev/$d"; done
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/ \
      chroot "$ROOT" /vigil/rootfs/bin/vigil-launch run --events=/tmp/ev.json -- "$@"' vigil-ns "$@" >"$T/out" 2>"$T/err"
}

# expect_run ROOT RC STDOUT APP [ARGS...]: vigil_run, then the exit status is
# RC, stdout is exactly STDOUT, and stderr has no sensor message.
expect_run() {
  local root=$1 want_rc=$2 want_out=$3 rc=0; shift 3
  vigil_run "$root" "$@" || rc=$?
  [ "$rc" = "$want_rc" ] || die "'$*' in $root: exit $rc, expected $want_rc; stderr: $(cat "$T/err")"
  [ "$(cat "$T/out")" = "$want_out" ] || die "'$*' in $root: stdout '$(cat "$T/out")', expected '$want_out'"
  ! grep -q '^vigil' "$T/err" || die "'$*' in $root: sensor complained: $(cat "$T/err")"
}

# expect_events FILE CHECK...: the JSON-lines events FILE satisfies every CHECK:
#   exec=EXE            some exec event has process.exe == EXE
#   exec=EXE:ARGS       ... and process.args == ARGS (space separated)
#   exit=N              the app's main process (first exec) exited with code N
expect_events() {
  python3 - "$@" <<'PY' || die "events check failed (events file: $1)"
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
path, checks = sys.argv[1], sys.argv[2:]
try:
    events = events(path)
except Exception as e:
    sys.exit(f"{path}: not JSON lines: {e}")
seqs = [e["seq"] for e in events]
if seqs != sorted(set(seqs)):
    sys.exit(f"{path}: seq not strictly increasing: {seqs}")
execs = [e for e in events if e.get("type") == "exec"]
if not execs:
    sys.exit(f"{path}: no exec event in {len(events)} events")
main = execs[0]["process"]["pid"]
def fail(msg):
    sys.stderr.write(msg + "\nexec events:\n")
    for e in execs:
        sys.stderr.write(f"  pid {e['process']['pid']} {e['process']['exe']} {e['process'].get('args')}\n")
    sys.stderr.write("exit events: %s\n" % [(e["process"]["pid"], e.get("exit")) for e in events if e.get("type") == "exit"])
    sys.exit(1)
for c in checks:
    kind, _, val = c.partition("=")
    if kind == "exec":
        exe, _, args = val.partition(":")
        if not any(e["process"]["exe"] == exe and (not args or e["process"].get("args") == args.split(" ")) for e in execs):
            fail(f"no exec event of {exe} with args {args!r}")
    elif kind == "exit":
        codes = [e.get("exit") for e in events if e.get("type") == "exit" and e["process"]["pid"] == main]
        if codes != [{"code": int(val)}]:
            fail(f"main process {main}: exit events {codes}, expected code {val}")
    else:
        sys.exit(f"unknown check {c}")
print(f"    {len(events)} events OK: {' '.join(checks)}")
PY
}
