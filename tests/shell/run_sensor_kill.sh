#!/usr/bin/env bash
# Fault policy (docs/design.md): fail-closed. If the sensor is SIGKILLed, the
# keeper (sensor/keeper.hpp) kills every app process the sensor knew of, and
# the main process dies with it (PR_SET_PDEATHSIG); nothing of the app keeps
# running unwatched (where its notified syscalls would fail with ENOSYS).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$VIGIL" run --spool-dir="$tmp/spool" -- sh -c 'sleep 300 & echo $! > '"$tmp"'/child; echo $$ > '"$tmp"'/main; wait' &
vp=$!
for _ in $(seq 300); do [ -s "$tmp/child" ] && [ -s "$tmp/main" ] && break; sleep 0.1; done  # main is written last
main=$(cat "$tmp/main"); child=$(cat "$tmp/child")
kill -0 "$main" && kill -0 "$child"
kill -KILL "$vp"
set +e; wait "$vp"; rc=$?; set -e
[ "$rc" = 137 ] || { echo "FAIL: vigil status $rc, want 137"; exit 1; }
for _ in $(seq 100); do
  alive=0
  for p in $main $child; do
    if [ -e /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status 2>/dev/null; then alive=1; fi
  done
  [ $alive = 0 ] && break
  sleep 0.1
done
[ $alive = 0 ] || { echo "FAIL: app processes survived the sensor"; exit 1; }

# A process the sensor never learnt (it made no notified syscall) is killed at
# its first notified syscall after the sensor's death, by the keeper; it never
# gets past it (no ENOSYS, no hang).
mkfifo "$tmp/go"
"$VIGIL" run --spool-dir="$tmp/spool" -- sh -c '(:; read x < '"$tmp"'/go; touch '"$tmp"'/ran; :) & echo $! > '"$tmp"'/silent; wait' 2> "$tmp/err" &
vp=$!
for _ in $(seq 300); do [ -s "$tmp/silent" ] && break; sleep 0.1; done
silent=$(cat "$tmp/silent")
sleep 0.2
kill -KILL "$vp"; wait "$vp" || true
# (its first notified call may be dash's dup2 of the fifo onto stdin: killed
# there, it leaves the write without a reader)
(trap '' PIPE; echo go > "$tmp/go") 2>/dev/null || true
for _ in $(seq 100); do [ -e /proc/$silent ] && ! grep -q '^State:.*Z' /proc/$silent/status 2>/dev/null || break; sleep 0.1; done
[ ! -e "$tmp/ran" ] || { echo "FAIL: a process ran a notified syscall after the sensor died"; exit 1; }
grep -q "the sensor died: killing the app" "$tmp/err" || { echo "FAIL: no keeper message: $(cat "$tmp/err")"; exit 1; }
! grep -qi "not implemented" "$tmp/err" || { echo "FAIL: a notified syscall failed with ENOSYS: $(cat "$tmp/err")"; exit 1; }
if [ -e /proc/$silent ] && ! grep -q '^State:.*Z' /proc/$silent/status 2>/dev/null; then
  echo "FAIL: the unlearnt process survived its notified syscall"; exit 1
fi
echo ok
