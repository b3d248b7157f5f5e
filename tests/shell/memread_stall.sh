#!/usr/bin/env bash
# Reading the app's memory can never stall vigil (issue 12). The app
# (tests/fixtures/memread_stall.c, root with CAP_SYS_PTRACE: --app-ptrace=keep,
# and no rule blocking userfaultfd) backs an open path or an execve argv with
# a userfaultfd page that holds kernel-mode faults for HOLD ms (or a page of a
# FUSE file whose server, a child, answers after HOLD ms); another process
# of the app makes trapped calls meanwhile. Without a bound, vigil's one
# thread waits in process_vm_readv and so does every trapped call of the app,
# for HOLD ms. With the watchdog (--read-deadline, sensor/watchdog.hpp), the
# attacker is killed after the deadline (holder, fuse: a deadline later, the
# child holding the userfaultfd or /dev/fuse too), a Critical "Tracee memory read stalled"
# alert is raised, and the bystander's calls never wait much longer than that.
# Detect and prevent mode.
SRC_DIR=${SRC_DIR:?}
source "$SRC_DIR/tests/scenarios/lib.bash"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (CAP_SYS_PTRACE for a kernel-mode userfaultfd)"; exit 77; }
"$FIXTURES/memread_stall" probe ||
  { echo "SKIP: no userfaultfd with kernel-mode faults here (CAP_SYS_PTRACE or vm.unprivileged_userfaultfd)"; exit 77; }
HOLD=4000      # ms the attacker holds the fault if nobody ends it
DEADLINE=250   # ms (the default)
BOUND=1500     # ms: the slowest bystander call allowed (2 deadlines plus a noisy machine's slack)
D=$T/d
mkdir -p "$D"
# A rule on write-opens, so that they are trapped (the adaptive filter traps
# only what a rule wants; exec is always trapped); block: prevent mode
# performs them (sensor/perform.hpp).
rules=$(rules_file marker "- rule: Marker write
  desc: a write-open of a marker path
  condition: evt.type in (open, openat) and evt.is_open_write = true and fd.name startswith /nonexistent-marker
  output: marker write (file=%fd.name)
  priority: WARNING
  action: block")

for mode in detect prevent; do
  for attack in open exec holder fuse; do
    # fuse: the mount lives in a mount namespace of its own
    ns=()
    if [ $attack = fuse ]; then
      command -v unshare >/dev/null || { echo "$mode/fuse: SKIP (no unshare)"; continue; }
      ns=(unshare -m --propagation private)
    fi
    rm -f "$T/alerts"
    RC=0
    start=$(date +%s%N)
    timeout 60 "${ns[@]}" "$VIGIL" run --mode=$mode --rules="$rules" --app-ptrace=keep --read-deadline=${DEADLINE}ms \
      --alerts="file:$T/alerts" -- "$FIXTURES/memread_stall" "$D" $attack $HOLD >"$T/out" 2>"$T/err" </dev/null || RC=$?
    took=$(( ($(date +%s%N) - start) / 1000000 ))
    what="$mode/$attack"
    if grep -q "^attacker exit=77" "$T/out"; then echo "$what: SKIP (cannot mount a FUSE file system here)"; continue; fi
    [ $RC = 0 ] || { cat "$T/out" "$T/err"; fail "$what: the app failed (status $RC): the bystander did not run"; }
    max=$(sed -n 's/^bystander calls=[0-9]* max_call_ms=//p' "$T/out")
    [ -n "$max" ] || { cat "$T/out" "$T/err"; fail "$what: no bystander report"; }
    echo "$what: bystander's slowest trapped call ${max} ms (bound $BOUND, stall held $HOLD); run ${took} ms"
    [ "$max" -le $BOUND ] || { cat "$T/out" "$T/err"; fail "$what: the app's other process waited ${max} ms on vigil's stalled read"; }
    grep -q "^attacker killed sig=9" "$T/out" || { cat "$T/out" "$T/err"; fail "$what: the attacker was not killed"; }
    [ ! -e "$D/attacker.$attack" ] || fail "$what: the attacker's call went through"
    expect_alert "Tracee memory read stalled" killed
    "$PY" - "$T/alerts" "$attack" <<'PY' || fail "$what: alert content"
import json, sys
al = [json.loads(l) for l in open(sys.argv[1])]
st = [a for a in al if a["rule"] == "Tracee memory read stalled"]
assert all(a["priority"] == "Critical" for a in st), st
assert any("killed process" in a["output"] for a in st), st
if sys.argv[2] in ("holder", "fuse"):  # the child holding the userfaultfd or /dev/fuse: killed a deadline later
    assert any("killed the app processes holding" in a["output"] for a in st), st
PY
  done
done
echo ok
