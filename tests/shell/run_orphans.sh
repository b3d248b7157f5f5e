#!/usr/bin/env bash
# Container semantics: when the main process exits, vigil exits with its status
# and the processes it left behind are killed (as when PID 1 of a container
# exits). As PID 1 (own pid namespace), vigil reaps orphaned zombies.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

set +e
"$VIGIL" run -- sh -c 'sleep 300 & echo $! > '"$tmp"'/bg; exit 5'; rc=$?
set -e
[ "$rc" = 5 ] || fail "status $rc, want 5"
bg=$(cat "$tmp/bg")
for _ in $(seq 50); do [ -e /proc/$bg ] || break; sleep 0.1; done
[ ! -e /proc/$bg ] || grep -q '^State:.*Z' /proc/$bg/status || fail "background child survived the main process"

# PID 1: a double-forking daemon's orphan exits and must not stay a zombie.
unshare -p -f --mount-proc true 2>/dev/null || { echo "no pid namespaces here: skipping PID 1 part"; exit 0; }
unshare -p -f --mount-proc "$VIGIL" run -- sh -c '
  (sh -c "sleep 0.3; exit 0" &)        # double fork: the inner sh is reparented to PID 1 (vigil)
  (sh -c "sleep 0.2" &)
  sleep 2
  zombies=$(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)
  echo "pid1=$(cat /proc/1/comm) zombies=$zombies"' > "$tmp/out"
grep -q "zombies=0" "$tmp/out" || fail "zombies left as PID 1: $(cat "$tmp/out")"
echo ok
