#!/usr/bin/env bash
# Alert-only rules see the true object (issue 12): rules that only alert (no
# block) on writes below D/protected and on reads of D/protected/x. A racing
# thread (or another process through a shared memfd) flips the path between
# D/decoy____/x and D/protected/x: vigil reads one name, the kernel opens the
# other (detect mode, and prevent mode: no block rule, nothing is performed).
# The first fd of the protected file is kept and written 2.5 s later (past
# the duplicate window): the write must be reported on the protected file
# itself (inotify on its inode, args.source=inotify) and alerted. Read-opens
# are never trapped: a read of D/protected/x (raced or not) must be reported
# by the read watch a read-matching rule asks for. A write through a hard link
# made before vigil started is alerted under the rule's name. Files no rule
# names stay unwatched.
SRC_DIR=${SRC_DIR:?}
source "$SRC_DIR/tests/scenarios/lib.bash"
D=$T/d
mkdir -p "$D/protected" "$D/decoy____" "$D/free"
echo secret >"$D/protected/x"
echo decoy >"$D/decoy____/x"
ln "$D/protected/x" "$D/hard"
rules=$(rules_file watched "- rule: Watched write
  desc: write-open below a watched directory (alert only)
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name startswith $D/protected
  output: watched write (file=%fd.name source=%evt.arg.source)
  priority: WARNING
- rule: Watched read
  desc: read-open of a named file (alert only)
  condition: evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.name = $D/protected/x
  output: watched read (file=%fd.name source=%evt.arg.source)
  priority: NOTICE")

for mode in detect prevent; do
  # Writes: the race won, the fd kept and written later.
  for attack in race_hold shm_hold; do
    rm -f "$T/ev"
    vrun $mode --rules="$rules" --events="$T/ev" -- "$FIXTURES/opens_attack" "$D" $attack 3000
    grep -q "^$attack held=1 wrote=1" "$T/err" || fail "$mode $attack: $(grep "^$attack" "$T/err" || cat "$T/err")"
    got=$(inotify_events "$T/ev")
    grep -q "^open $D/protected/x .*modify.* open_fd opens_attack$" <<<"$got" ||
      fail "$mode $attack: the write through the kept fd was not seen on the protected file; inotify events: ${got:-none}"
    expect_alert "Watched write" none
  done
  # Reads: never trapped; the read watch sees the protected file's opens.
  vrun $mode --rules="$rules" --events="$T/ev" -- "$FIXTURES/opens_attack" "$D" race_read 2000
  grep -q "^race_read opened=[1-9]" "$T/err" || fail "$mode race_read: $(grep "^race_read" "$T/err" || cat "$T/err")"
  alert_fields "Watched read" output | grep -q "file=$D/protected/x source=inotify" ||
    fail "$mode: a read of the named file was not alerted: $(alert_fields "Watched read" output)"
  # (after the watches are set up: they are added while the app starts)
  vrun $mode --rules="$rules" -- /bin/sh -c 'sleep 0.5; exec cat "$0" >/dev/null' "$D/protected/x"
  alert_fields "Watched read" output | grep -q "file=$D/protected/x source=inotify" || fail "$mode: cat of the named file not alerted"
  # A hard link made before start: alerted under the rule's name (identity, or inotify on the inode).
  vrun $mode --rules="$rules" -- /bin/sh -c 'echo h >>"$0"' "$D/hard"
  alert_fields "Watched write" output | grep -q "file=$D/protected/x" ||
    fail "$mode: a write through a hard link was not alerted on the named file: $(alert_fields "Watched write" output)"
done

# Deduplicated as for block rules: writes through the hard link and /proc/self/fd (once the
# watch thread's walk is adopted) are trapped events on the named file; their inotify reports
# are the same writes: dropped.
rm -f "$T/ev"
vrun detect --rules="$rules" --events="$T/ev" -- /bin/sh -c 'sleep 0.5; echo h >>"$0/hard"; exec 3>>"$0/protected/x"; echo f >/proc/self/fd/3' "$D"
got=$(inotify_events "$T/ev" | grep -v '^open [^ ]* - ' || true)  # (read-opens: IN_OPEN, no change)
[ -z "$got" ] || fail "detect: inotify duplicates of trapped writes: $got"
"$PY" - "$T/ev" "$D" <<'PY' || fail "detect: the trapped writes do not name the named file"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
evs = events(sys.argv[1])
trapped = [e["file"]["path"] for e in evs if e.get("file") and e["type"] in ("open", "openat") and not e.get("args", {}).get("source")]
assert trapped.count(sys.argv[2] + "/protected/x") == 3, trapped  # hard link, the fd 3 open, /proc/self/fd/3
PY

# A process a rule excepts makes new subdirectories below a watched directory
# and files in them at once (a package install): their trapped writes are
# excepted, and the watch's reports of the same files (created before their
# directory's watch, found by its listing, or closed after writing) are
# duplicates of those writes: no unattributed alert.
mkdir -p "$D/tree"
excepted=$(rules_file excepted "- rule: Tree written
  desc: write-open below a watched directory, but by the installer
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name startswith $D/tree and not proc.name startswith python3
  output: tree written (file=%fd.name process=%proc.name source=%evt.arg.source)
  priority: WARNING")
vrun detect --rules="$excepted" -- "$PY" -c '
import os, sys, time
time.sleep(0.5)
for d in range(20):
    p = "%s/d%d/sub" % (sys.argv[1], d)
    os.makedirs(p)
    for f in range(5):
        open("%s/f%d" % (p, f), "w").write("x")
time.sleep(0.5)' "$D/tree"
[ "$RC" = 0 ] || fail "the installer failed ($RC): $(cat "$T/err")"
[ -z "$(alert_fields "Tree written" output)" ] || fail "an excepted process's new files alerted: $(alert_fields "Tree written" output)"

# The named directory itself replaced: renamed away, and a tree prepared
# elsewhere (its file already open) renamed into its name. No trapped call
# names a file below D/protected (the rule is on opens): its name is watched
# in its parent, so the tree that now stands there is listed (its file
# reported and alerted) and watched: the write through the fd kept from
# before, past the duplicate window, is seen on the new name. Written by
# python (os.write on fd 3); by the shell (`echo >&3`: a trapped dup2 of that
# fd first); by python after a trapped chmod of the file: neither the dup2
# nor the chmod is a write, neither may pass for the write's trapped twin.
pywrite="\"$PY\" -c 'import os; os.write(3, b\"run\\n\")'"
for mode in detect prevent; do
  for write in "$pywrite" 'echo run >&3' "chmod 644 \"\$0/protected/job\"; $pywrite"; do
    rm -rf "$D/prep" "$D/old" "$T/ev"
    vrun $mode --rules="$rules" --events="$T/ev" -- /bin/sh -c 'sleep 0.5; mkdir "$0/prep"; exec 3>"$0/prep/job"
      mv "$0/protected" "$0/old"; mv "$0/prep" "$0/protected"; sleep 2.5; eval "$1"; sleep 0.3' "$D" "$write"
    rm -rf "$D/protected" && mv "$D/old" "$D/protected"
    [ "$RC" = 0 ] || fail "$mode swap, $write: the app failed ($RC): $(cat "$T/err")"
    got=$(inotify_events "$T/ev")
    grep -q "^open $D/protected/job listed " <<<"$got" ||
      fail "$mode swap: the file of the tree renamed into the named directory's place was not reported; inotify events: ${got:-none}"
    grep -q "^open $D/protected/job .*modify" <<<"$got" ||
      fail "$mode swap, $write: the write through the fd kept from before was not seen; inotify events: ${got:-none}"
    alert_fields "Watched write" output | grep -q "file=$D/protected/job source=inotify" ||
      fail "$mode swap: not alerted: $(alert_fields "Watched write" output)"
  done
done

# Files no rule names: no inotify report, no alert.
rm -f "$T/ev"
vrun detect --rules="$rules" --events="$T/ev" -- /bin/sh -c 'echo u >"$0/free/u"; cat "$0/decoy____/x" >/dev/null' "$D"
got=$(inotify_events "$T/ev")
[ -z "$got" ] || fail "unnamed files reported by inotify: $got"
[ -z "$(alert_fields "Watched write" output)$(alert_fields "Watched read" output)" ] || fail "unnamed files alerted: $(cat "$T/alerts")"
echo ok
