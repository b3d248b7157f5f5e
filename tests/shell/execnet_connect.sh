#!/usr/bin/env bash
# The address vigil judged is the address connected to (docs/threat-model.md,
# "Connect"): a thread rewriting the sockaddr between 127.0.0.2 (allowed) and
# 127.0.0.3 (blocked) never gets a connection to 127.0.0.3 in prevent mode:
# vigil connects the app's socket itself with the copy it judged. Detect mode
# (no emulation: nothing can be blocked) reports the true address: every
# connection that reached 127.0.0.3 has its "Blocked address" alert, those
# where vigil read 127.0.0.2 by a corrected connect event and the alert
# "Connect target differs from the one read", and no other connect gets one
# (design.md, "Connect emulation", detect mode). The results of the emulated
# connect (EINPROGRESS, ECONNREFUSED, SO_SNDTIMEO's timeout) are checked too,
# and a hanging connect does not hold the others (it waits on a worker).
# Each check needs the race to have run: at least one connect whose address
# was switched before vigil's read (prevent: denied) or after it (detect, flip:
# corrected by the connect check). How often that happens depends on the
# scheduling of the app's threads and vigil's wake-ups, so a run where it did
# not happen is repeated (up to ATTEMPTS runs) instead of read as a pass or a
# failure; a wrong result fails at once.
source "$(dirname "$0")/lib.bash"
TRIES=${EXECNET_TRIES:-400}
ATTEMPTS=${EXECNET_ATTEMPTS:-4}
norace=3  # exit status of a check whose race did not run (retried)

cat >"$tmp/rules.yaml" <<'YAML'
- rule: Blocked address
  desc: d
  condition: evt.type = connect and fd.sip = 127.0.0.3
  output: connect to a blocked address (connection=%fd.name)
  priority: CRITICAL
  action: block
YAML
port=$(( 20000 + RANDOM % 20000 ))
# check_race MODE: one run of the connect race in MODE, checked (0: passed;
# $norace: the race did not run; else failed).
check_race() {
  local mode=$1
  rm -f "$tmp/al.$mode" "$tmp/ev.$mode"
  "$VIGIL" run --mode=$mode --rules="$tmp/rules.yaml" --alerts="file:$tmp/al.$mode" --events="$tmp/ev.$mode" -- \
    "$FIXTURES/execnet_race" connect $port "$TRIES" >"$tmp/out" 2>"$tmp/err" || fail "$mode: vigil run failed: $(tail -5 "$tmp/err")"
  cat "$tmp/out"
  grep -q '^nonblocking=EINPROGRESS$' "$tmp/out" || fail "$mode: a non-blocking connect did not give EINPROGRESS"
  grep -q '^refused=ECONNREFUSED$' "$tmp/out" || fail "$mode: a connect to no listener did not give ECONNREFUSED"
  grep -q '^timeout=EINPROGRESS ' "$tmp/out" || fail "$mode: a connect with SO_SNDTIMEO did not time out with EINPROGRESS"
  grep -q ' side_done_before=1$' "$tmp/out" || fail "$mode: other connects waited for a hanging one"
  grep -q '^plain=0 again=EISCONN$' "$tmp/out" || fail "$mode: plain connects (UDP, v4-mapped, EISCONN) did not give their results"
  line=$(grep '^ok2=' "$tmp/out") || fail "$mode: no result"
  eval "${line// / ; }"
  [ "$other" = 0 ] || fail "$mode: $other connects failed otherwise"
  [ "$ok2" -gt 0 ] || fail "$mode: no connect to the allowed address succeeded"
  if [ $mode = prevent ]; then
    [ "$ok3" = 0 ] || fail "prevent: $ok3 connections reached the blocked address"
    [ "$denied" -gt 0 ] || { echo "prevent: no connect was denied (the race did not run)"; return $norace; }
  else
    [ "$denied" = 0 ] || fail "detect: $denied connects denied"
    local rc=0
    python3 - "$tmp/al.$mode" "$tmp/ev.$mode" "$ok3" "$port" <<'PY' || rc=$?
import json, os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ok3, port = int(sys.argv[3]), int(sys.argv[4])
def count(rule): return sum(a["output_fields"].get("vigil.count", 1) for a in alerts if a["rule"] == rule)
differs = [a for a in alerts if a["rule"] == "Connect target differs from the one read"]
blocked = count("Blocked address")
print(f"detect: {ok3} connections reached 127.0.0.3; {blocked} 'Blocked address' alerts, {len(differs)} of them after the fact")
for a in differs:
    f = a["output_fields"]
    assert f["fd.rip"] == "127.0.0.3" and f["fd.rport"] == port and f["vigil.judged_addr"] == f"127.0.0.2:{port}", a
assert blocked == ok3, f"{blocked} alerts for {ok3} connections to 127.0.0.3"
conn = [e for e in events(sys.argv[2]) if e["type"] == "connect"]
checked = [e for e in conn if (e.get("args") or {}).get("connect_check")]
assert len(checked) == len(differs), (len(checked), len(differs))
for e in checked:
    assert e["args"] == {"connect_check": "differs", "judged_addr": f"127.0.0.2:{port}"}, e
    assert e["network"]["remote"] == {"family": 2, "addr": "127.0.0.3", "port": port}, e
if not differs:
    print("detect: no connect was switched after vigil's read (the race did not run)")
    sys.exit(3)
PY
    [ $rc = 0 ] || [ $rc = $norace ] || fail "detect: the connections to 127.0.0.3 are not all reported"
    return $rc
  fi
}
# retry NAME CHECK...: CHECK again (a new port each time) while its race did not run.
retry() {
  local name=$1 rc; shift
  for attempt in $(seq "$ATTEMPTS"); do
    rc=0
    "$@" || rc=$?
    port=$((port + 3))
    [ $rc = $norace ] || return 0  # passed, or failed (said so)
    echo "$name: attempt $attempt of $ATTEMPTS: the race did not run"
  done
  fail "$name: the race did not run in $ATTEMPTS runs of $TRIES connects"
}
for mode in detect prevent; do
  retry $mode check_race $mode
done

# Detect mode, both ways: a thread flips the address between .2 and .3 all
# through each connect. Every connect has exactly one event of the address
# read, plus a corrected one (and the alert) where the kernel connected the
# other: the connections each address got follow from the events.
check_flip() {
rm -f "$tmp/al.flip" "$tmp/ev.flip"
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/al.flip" --events="$tmp/ev.flip" -- \
  "$FIXTURES/execnet_race" connect-flip $port "$TRIES" >"$tmp/out" 2>"$tmp/err" || fail "flip: vigil run failed: $(tail -5 "$tmp/err")"
line=$(grep '^ok2=' "$tmp/out") || fail "flip: no result"
eval "${line// / ; }"
[ "$other" = 0 ] || fail "flip: $other connects failed"
local rc=0
python3 - "$tmp/al.flip" "$tmp/ev.flip" "$ok2" "$ok3" "$port" "$TRIES" <<'PY' || rc=$?
import json, os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ok2, ok3, port, tries = map(int, sys.argv[3:])
conn = [e for e in events(sys.argv[2]) if e["type"] == "connect" and e["network"]["remote"]["port"] == port]
read = [e for e in conn if "connect_check" not in (e.get("args") or {})]
fixed = [e for e in conn if "connect_check" in (e.get("args") or {})]
def n(evs, ip): return sum(e["network"]["remote"]["addr"] == ip for e in evs)
r2, r3, f2, f3 = n(read, "127.0.0.2"), n(read, "127.0.0.3"), n(fixed, "127.0.0.2"), n(fixed, "127.0.0.3")
print(f"flip: connected .2={ok2} .3={ok3}; read .2={r2} .3={r3}; corrected to .2={f2} to .3={f3}")
assert len(read) == tries and r2 + r3 == tries, "one event per connect, of the address read"
for e in fixed:
    other = "127.0.0.3" if e["network"]["remote"]["addr"] == "127.0.0.2" else "127.0.0.2"
    assert e["args"] == {"connect_check": "differs", "judged_addr": f"{other}:{port}"}, e
assert (ok2, ok3) == (r2 - f3 + f2, r3 - f2 + f3), "connections not accounted for by the events"
differs = [a for a in alerts if a["rule"] == "Connect target differs from the one read"]
assert len(differs) == len(fixed), (len(differs), len(fixed))
for a in differs:
    f = a["output_fields"]
    assert f["fd.rport"] == port and {f["fd.rip"] + f":{port}", f["vigil.judged_addr"]} == {f"127.0.0.2:{port}", f"127.0.0.3:{port}"}, a
if f2 + f3 == 0:
    print("flip: no connect raced past vigil's read (the race did not run)")
    sys.exit(3)
PY
[ $rc = 0 ] || [ $rc = $norace ] || fail "flip: the true addresses are not reported"
return $rc
}
retry flip check_flip
finish
