#!/usr/bin/env bash
# Signals sent to vigil reach the app (each one is echoed back by the fixture).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$VIGIL" run -- "$FIXTURES/run_sigrecv" > "$tmp/out" &
vp=$!
for _ in $(seq 100); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.1; done
# SIGSTOP/SIGCONT sent to the app itself: it stops and resumes; vigil keeps running.
app=$(pgrep -P "$vp" run_sigrecv)
kill -STOP "$app"
for _ in $(seq 100); do grep -q '^State:.*[Tt]' /proc/$app/status && break; sleep 0.05; done
grep -q '^State:.*[Tt]' /proc/$app/status || { echo "FAIL: app did not stop"; exit 1; }
grep -q '^State:.*[RS]' /proc/$vp/status || { echo "FAIL: vigil stopped with the app"; exit 1; }
kill -CONT "$app"
for _ in $(seq 100); do grep -qx "got 18" <(tail -1 "$tmp/out") && break; sleep 0.05; done
kill -USR1 "$vp"
for _ in $(seq 100); do [ "$(tail -1 "$tmp/out")" = "got 10" ] && break; sleep 0.05; done
[ "$(tail -1 "$tmp/out")" = "got 10" ] || { echo "FAIL: app not running after SIGCONT"; cat "$tmp/out"; exit 1; }

sigs="HUP INT QUIT USR1 USR2 WINCH CONT ALRM PIPE TSTP"
for s in $sigs; do
  n=$(kill -l "$s")
  before=$(grep -cx "got $n" "$tmp/out" || true)
  kill -"$s" "$vp"
  for _ in $(seq 100); do [ "$(grep -cx "got $n" "$tmp/out")" -gt "$before" ] && break; sleep 0.05; done
  [ "$(grep -cx "got $n" "$tmp/out")" -gt "$before" ] || { echo "FAIL: SIG$s not forwarded"; cat "$tmp/out"; exit 1; }
done
kill -TERM "$vp"
set +e; wait "$vp"; rc=$?; set -e
[ "$rc" = 0 ] || { echo "FAIL: status $rc after SIGTERM, want 0 (the app handles it)"; exit 1; }
grep -qx "got 15" "$tmp/out" || { echo "FAIL: SIGTERM not forwarded"; exit 1; }

# A SIGTERM during vigil's own start-up (before the app runs, while the rules
# compile) is never lost: vigil dies of it before its handlers exist, or the
# app gets it once started (it stays pending meanwhile). A lost one would let
# the app run its 5 s.
for d in 0.002 0.004 0.006 0.008 0.010 0.012 0.014 0.016 0.018 0.020 0.024 0.028 0.035 0.045; do
  s=$(date +%s%N)
  "$VIGIL" run -- /bin/sh -c 'trap "exit 3" TERM; sleep 5 & wait' 2> /dev/null &
  vp=$!
  sleep "$d"
  kill -TERM "$vp"
  set +e; wait "$vp"; rc=$?; set -e
  ms=$(( ($(date +%s%N) - s) / 1000000 ))
  [ "$ms" -lt 4000 ] || { echo "FAIL: SIGTERM $d s after the start lost: the app ran ${ms} ms (status $rc)"; exit 1; }
  [ "$rc" = 3 ] || [ "$rc" = 143 ] || { echo "FAIL: SIGTERM $d s after the start: status $rc, want 3 (the app's) or 143"; exit 1; }
done
echo ok
