#!/usr/bin/env bash
# Attacks on vigil's record of who did what (tests/fixtures/ident_attack.c).
# vigil learns a process at its first trapped call; what it then records as
# its image, command line and user must be the process's own, not what its
# parent (or whoever it was reparented to) became in between:
# - exec: a child waits while its parent execs a trusted image program (here
#   cat, in the rule's exception with vigil_image_program, as chpasswd is in
#   the default "Authentication configuration modified"), then writes a
#   protected file. Before: the child was recorded as cat, the exception
#   applied, no alert.
# - subreaper: the same through a reparent to an app subreaper that exec'd cat.
# - orphan: a double fork whose middle exits, no subreaper in the app: the
#   grandchild's write was recorded with no name, image, command or user.
# - failexec: an exec of cat that vigil reads and lets through, but that the
#   kernel fails (E2BIG), then a write: the process still runs its own
#   image. Before: it was recorded as cat from the exec on. Also in prevent
#   mode with a rule that can block an exec (the exec's thread traced).
# - setuid: a root process that dropped to uid 33 (saved uid 0) and calls
#   setuid(0): the default "Privilege raised to root" must fire. Before:
#   user.uid was the one read at its exec (0) and the rule saw no non-root caller.
# - reuse: a process vigil learns from /proc as the parent of a new one dies
#   while it is learnt, and its pid goes to a new root process (chosen by
#   ns_last_pid, in a pid namespace of the test's). Before: the dead
#   process's record (uid 33) was kept with no pidfd to end it, and the new
#   process's writes were recorded as uid 33 (7-23 of 640 tries here, both
#   with and without PIDFD_GET_INFO).
source "$(dirname "$0")/lib.bash"
: "${SRC_DIR:?}"
fx="$FIXTURES/ident_attack"
cat >"$tmp/rules.yaml" <<YAML
- rule: ident write
  desc: d
  condition: >
    evt.type in (open, openat, creat) and evt.is_open_write = true and fd.name startswith $tmp/w-
    and not (proc.name in (cat) and vigil_image_program)
  output: ident write (file=%fd.name process=%proc.name exe=%proc.exepath command=%proc.cmdline user=%user.name)
  priority: WARNING
YAML
# Where a rule can block an exec, its thread is traced through it (a failed exec: its interrupt stop).
cat >"$tmp/block.yaml" <<YAML
- rule: exec block
  desc: d
  condition: evt.type in (execve, execveat) and proc.name = no-such-program
  output: exec block (command=%proc.cmdline)
  priority: WARNING
  action: block
YAML
run() {  # NAME ARGS...: the fixture under vigil, alerts in $tmp/NAME.alerts (OPTS: more options)
  local name=$1; shift
  "$VIGIL" run ${OPTS:-} --rules="$SRC_DIR/rules/default/vigil_rules.yaml" --rules="$tmp/rules.yaml" \
    --alerts="file:$tmp/$name.alerts" -- "$fx" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null ||
    fail "$name: the run failed: $(tail -3 "$tmp/$name.err")"
}
check_write() {  # NAME: one "ident write" alert naming the fixture as the writer
  local name=$1
  grep -q '^writer ' "$tmp/$name.out" || fail "$name: no writer ran: $(cat "$tmp/$name.out" "$tmp/$name.err")"
  python3 - "$tmp/$name.alerts" "$fx" "$(awk '/^writer /{print $2}' "$tmp/$name.out")" <<'PY' ||
import json, os, sys
alerts = [json.loads(l) for l in open(sys.argv[1])] if os.path.exists(sys.argv[1]) else []
hits = [a for a in alerts if a["rule"] == "ident write"]
assert len(hits) == 1, "alerts: %s" % [a["output"] for a in alerts]
f = hits[0]["output_fields"]
assert f["proc.name"] == "ident_attack" and f["proc.exepath"] == sys.argv[2], f
assert f["user.name"] == "root", f
PY
    fail "$name: the write was not recorded as the fixture's"
}
run exec exec "$tmp/w-exec" /bin/cat
check_write exec
run subreaper subreaper "$tmp/w-subreaper" /bin/cat
check_write subreaper
run orphan orphan "$tmp/w-orphan"
check_write orphan
run failexec failexec "$tmp/w-failexec" /bin/cat
grep -q 'exec failed: Argument list too long' "$tmp/failexec.out" || fail "failexec: the exec did not fail: $(cat "$tmp/failexec.out")"
check_write failexec
OPTS="--mode=prevent --rules=$tmp/block.yaml" run failexec_traced failexec "$tmp/w-failexec_traced" /bin/cat
check_write failexec_traced
run setuid setuid
grep -q 'setuid(0) = 0' "$tmp/setuid.out" || fail "setuid: the fixture did not regain root: $(cat "$tmp/setuid.out")"
grep -q '"rule":"Privilege raised to root"' "$tmp/setuid.alerts" 2>/dev/null ||
  fail "setuid: uid 33 becoming root again not alerted"
# reuse: only the write rule (the default rules would trap the middle
# process's setresuid: it must make no trapped call to be learnt as a parent);
# every alert rendered (--alert-window=0). Both ways of reading a new thread.
if unshare -pf --mount-proc true 2>/dev/null; then
  cat >"$tmp/reuse.yaml" <<YAML
- rule: reuse write
  desc: d
  condition: evt.type in (open, openat, creat) and evt.is_open_write = true and fd.name startswith $tmp/r-
  output: reuse write (file=%fd.name pid=%proc.pid user=%user.name)
  priority: WARNING
YAML
  for info in 0 1; do
    rm -rf "$tmp/r-$info" && mkdir "$tmp/r-$info"
    VIGIL_TEST_NO_PIDFD_INFO=$info unshare -pf --mount-proc "$VIGIL" run --rules="$tmp/reuse.yaml" --alert-window=0 \
      --alerts="file:$tmp/reuse-$info.alerts" -- "$fx" reuse "$tmp/r-$info" 640 >"$tmp/reuse-$info.out" \
      2>"$tmp/reuse-$info.err" </dev/null || fail "reuse: the run failed: $(tail -3 "$tmp/reuse-$info.err")"
    python3 - "$tmp/reuse-$info.alerts" "$(awk '/^reused /{print $2}' "$tmp/reuse-$info.out")" <<'PY' ||
import json, sys
reused = int(sys.argv[2] or 0)
assert reused >= 100, "only %d tries gave the dead process's pid to the next one" % reused
opens = [json.loads(l)["output_fields"] for l in open(sys.argv[1])]
opens = [f for f in opens if "/d-" in f["fd.name"]]
wrong = [f for f in opens if f["user.name"] != "root"]
assert len(opens) == reused, "%d writes of %d reported" % (len(opens), reused)
assert not wrong, "%d of %d root writes recorded as another process's: %s" % (len(wrong), len(opens), wrong[:2])
PY
      fail "reuse (VIGIL_TEST_NO_PIDFD_INFO=$info): a new process taken for the dead one whose pid it got"
  done
else
  echo "reuse: skipped: needs pid namespaces (unshare -pf --mount-proc)"
fi
finish
