#!/usr/bin/env bash
# Fault policy (docs/design.md): fail-closed. If the sensor is SIGKILLed, the
# keeper (sensor/keeper.hpp) kills every app process the sensor knew of, and
# the main process dies with it (PR_SET_PDEATHSIG); nothing of the app keeps
# running unwatched (where its notified syscalls would fail with ENOSYS).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$VIGIL" run -- sh -c 'sleep 300 & echo $! > '"$tmp"'/child; echo $$ > '"$tmp"'/main; wait' &
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
echo ok
