#!/usr/bin/env bash
# The path resolver's root cache (probes/resolve.hpp): once vigil has found a
# process's root to be its own, it stops looking, until a call that can move a
# root or a mount is notified. The app (tests/fixtures/root_move.c) makes a
# write-open first (the cache fills), then moves its root (chroot; a child
# sharing its fs_struct; a thread with its own) or its mounts (unshare +
# bind mount; a thread made with CLONE_NEWNS, which no trapped call creates)
# and opens D/protected/x for writing under a name only its new view gives
# it. Prevent: refused (the block rule is on the true path). Detect: the
# trapped open names the true file.
SRC_DIR=${SRC_DIR:?}
source "$SRC_DIR/tests/scenarios/lib.bash"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (chroot, mount)"; exit 77; }
D=$T/d
modes="chroot clone_fs thread_fs mount thread_ns"
setup() {
  rm -rf "$D"
  mkdir -p "$D/protected" "$D/free"
  echo secret >"$D/protected/x"
}
rules=$(rules_file protect "- rule: Protected write
  desc: write-open below a protected directory
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name startswith $D/protected
  output: protected write (file=%fd.name raw=%fd.nameraw)
  priority: ERROR
  action: block")
# Only this rule (the default rules block mount in prevent mode: the attack
# would stop there, before the open this test is about).
vrun_rule() {
  local mode=$1; shift
  RC=0
  rm -f "$T/alerts"
  timeout 120 "$VIGIL" run --mode="$mode" --rules="$rules" --alerts="file:$T/alerts" "$@" 2>"$T/err" </dev/null || RC=$?
}
# Where unshare or mount is refused (no CAP_SYS_ADMIN, a seccomp profile), the
# fixture says "skipped": those modes are left out with that line.
ran=()
for m in $modes; do
  setup
  vrun_rule prevent -- "$FIXTURES/root_move" "$D" "$m"
  line=$(grep "^$m " "$T/err" || true)
  case $line in
    "$m skipped"*) echo "$line (left out)"; continue ;;
    "$m refused EPERM") ;;
    *) fail "prevent: $m: ${line:-$(cat "$T/err")}" ;;
  esac
  [ "$(cat "$D/protected/x")" = secret ] || fail "prevent: $m: the protected file changed"
  expect_alert "Protected write" denied
  ran+=("$m")
done
[ ${#ran[@]} -ge 3 ] || fail "only ${ran[*]} could run"

# Detect: the trapped open (not inotify's report of the write) names the true file.
for m in "${ran[@]}"; do
  setup
  rm -f "$T/ev"
  vrun_rule detect --events="$T/ev" -- "$FIXTURES/root_move" "$D" "$m"
  grep -q "^$m opened" "$T/err" || fail "detect: $m: $(cat "$T/err")"
  "$PY" - "$T/ev" "$D" "$m" <<'PY' || fail "detect: $m: the trapped open did not name the protected file"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
d, m = sys.argv[2], sys.argv[3]
raw = "/protected/x" if m in ("chroot", "clone_fs", "thread_fs") else d + "/free/x"
opens = [e for e in events(sys.argv[1]) if e["type"] in ("open", "openat") and e.get("args", {}).get("source") != "inotify"
         and (e.get("file") or {}).get("raw_path") == raw]
assert opens, "no trapped open of " + raw
assert all(e["file"]["path"] == d + "/protected/x" for e in opens), [(e["file"], e.get("args")) for e in opens]
PY
done
# A file made after a chroot has no identity vigil knows: only its path can
# match, and it is named in vigil's view (D/protected/new), as rules name it,
# never the caller's (/protected/new). Before, the block rule on D/protected
# did not see it (created, alerted only after the fact by the watch).
setup
vrun_rule prevent -- "$FIXTURES/root_move" "$D" chroot_new
if grep -q "^chroot_new skipped" "$T/err"; then
  echo "$(grep "^chroot_new" "$T/err") (left out)"
else
  grep -q "^chroot_new refused EPERM" "$T/err" || fail "prevent: a new protected file made through a chroot: $(cat "$T/err")"
  [ ! -e "$D/protected/new" ] || fail "prevent: D/protected/new was created through a chroot"
  expect_alert "Protected write" denied
  setup
  rm -f "$T/ev"
  vrun_rule detect --events="$T/ev" -- "$FIXTURES/root_move" "$D" chroot_new
  grep -q "^chroot_new created" "$T/err" || fail "detect: chroot_new: $(cat "$T/err")"
  "$PY" - "$T/ev" "$D" <<'PY' || fail "detect: the create through a chroot is not named in vigil's view"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
d = sys.argv[2]
opens = [e for e in events(sys.argv[1]) if e["type"] in ("open", "openat") and e.get("args", {}).get("source") != "inotify"
         and (e.get("file") or {}).get("raw_path") == "/protected/new"]
assert opens and all(e["file"]["path"] == d + "/protected/new" for e in opens), [e.get("file") for e in opens]
PY
  # An exec after a chroot: its target is found from the caller's root (an
  # absolute path in vigil's root is another file, or none: the exec event
  # was lost) and named in vigil's view.
  # (a static program: nothing else is in the chroot)
  static=""
  for p in "$BUILD_DIR/vigil-launch" "$FIXTURES/exec_clock"; do
    [ -x "$p" ] && "$PY" -c 'import struct, sys
d = open(sys.argv[1], "rb").read(); off, n, size = struct.unpack_from("<Q", d, 32)[0], struct.unpack_from("<H", d, 56)[0], struct.unpack_from("<H", d, 54)[0]
sys.exit(any(struct.unpack_from("<I", d, off + i * size)[0] == 3 for i in range(n)))' "$p" && static=$p && break
  done
  if [ -z "$static" ]; then
    echo "chroot_exec left out: no static program built here (vigil-launch, exec_clock)"
  else
    setup
    cp "$static" "$D/free/prog"
    rm -f "$T/ev"
    vrun_rule detect --events="$T/ev" -- "$FIXTURES/root_move" "$D" chroot_exec
    "$PY" - "$T/ev" "$D" <<'PY' || fail "detect: the exec through a chroot is not seen with its true program"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
d = sys.argv[2]
execs = [e for e in events(sys.argv[1]) if e["type"] == "exec"]
assert any(e["process"]["exe"] == d + "/free/prog" for e in execs), [e["process"]["exe"] for e in execs]
PY
    # A script whose "#!" names an interpreter in the new root: that
    # interpreter runs (and is hashed and checked for drift), not whatever
    # vigil's root has at that path (nothing here).
    printf '#!/free/prog\n' >"$D/free/script" && chmod +x "$D/free/script"
    rm -f "$T/ev"
    vrun_rule detect --events="$T/ev" -- "$FIXTURES/root_move" "$D" chroot_script
    "$PY" - "$T/ev" "$D" <<'PY' || fail "detect: a script's interpreter in a chroot is looked up in vigil's root"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
d = sys.argv[2]
execs = [e["process"] for e in events(sys.argv[1]) if e["type"] == "exec"]
assert any(p["exe"] == d + "/free/prog" and p.get("script") == d + "/free/script" for p in execs), execs
PY
  fi
fi
# A relative path that does not resolve keeps its lexical name (made only
# then, from the caller's cwd): both paths of a rename, and a create.
setup
rm -f "$T/ev"
vrun_rule detect --events="$T/ev" -- /bin/sh -c 'cd "$0" && touch nodir/x; mv nodir/a nodir/b' "$D" 2>/dev/null
"$PY" - "$T/ev" "$D" <<'PY' || fail "an unresolvable relative path lost its lexical name"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
d = sys.argv[2]
evs = events(sys.argv[1])
opens = [e for e in evs if e["type"] in ("open", "openat") and (e.get("file") or {}).get("raw_path") == "nodir/x"]
assert opens and all(e["file"]["path"] == d + "/nodir/x" and "unresolved" in e.get("args", {}) for e in opens), opens
moves = [e for e in evs if e["type"].startswith("rename") and (e.get("file") or {}).get("raw_path") == "nodir/a"]
assert moves and all(e["file"]["path"] == d + "/nodir/a" and e["file"]["target"] == d + "/nodir/b" for e in moves), moves
PY
# The decoders' handles are closed in batches after the answer: none may keep
# a mount busy. A tmpfs mounted, written (detect: resolved, handles deferred)
# and unmounted at once must unmount (the flush before any kFeedRoot call).
setup
mkdir -p "$D/m"
RC=0
timeout 60 unshare -m --propagation private "$VIGIL" run --mode=detect --rules="$rules" -- /bin/sh -c \
  'mount -t tmpfs t "$0/m" && for i in 1 2 3 4 5; do echo x >"$0/m/f$i"; done && umount "$0/m" && echo unmounted' "$D" \
  >"$T/out" 2>"$T/err" </dev/null || RC=$?
if grep -q "unshare failed\|mount: .*denied\|Operation not permitted" "$T/err" && ! grep -q unmounted "$T/out"; then
  echo "mount in a private namespace refused here (left out): $(head -1 "$T/err")"
else
  grep -q unmounted "$T/out" || fail "umount after trapped writes in the mount failed (rc $RC): $(cat "$T/err")"
fi
echo "ok: ${ran[*]}"
